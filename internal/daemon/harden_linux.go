package daemon

import "golang.org/x/sys/unix"

// hardenProcess makes the daemon non-dumpable, so other processes of the
// same user can neither ptrace it nor read its memory through /proc, and a
// crash leaves no core file holding secrets.
func hardenProcess() error {
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
