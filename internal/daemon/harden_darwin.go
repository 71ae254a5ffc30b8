package daemon

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// hardenProcess calls ptrace(PT_DENY_ATTACH), after which the kernel rejects
// ptrace attaches to the daemon. It does not block task_for_pid, which
// macOS restricts to privileged and debugger-entitled processes, and it
// does not stop core files.
// NOTE: this has only been compiled here, never run on a Mac.
func hardenProcess() error {
	if err := unix.PtraceDenyAttach(); err != nil {
		return fmt.Errorf("ptrace(PT_DENY_ATTACH): %w", err)
	}
	return nil
}
