//go:build !linux

package daemon

// hardenProcess has no portable equivalent of PR_SET_DUMPABLE.
// TODO: PT_DENY_ATTACH on macOS; on Windows the process DACL already denies
// other users.
func hardenProcess() error { return nil }
