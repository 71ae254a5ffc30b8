//go:build !linux && !darwin

package daemon

// hardenProcess does nothing on Windows and other systems.
// NOTE: Windows has no equivalent of PR_SET_DUMPABLE. The default process
// DACL already denies other users, but grants the daemon's own user
// PROCESS_VM_READ, and a DACL the daemon set on itself would not hold: the
// owner keeps WRITE_DAC and could grant itself access again.
func hardenProcess() error { return nil }
