package client

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// newSocket creates a non-blocking, close-on-exec Unix stream socket. macOS
// has no SOCK_CLOEXEC, so the socket is created and marked while holding
// syscall.ForkLock for reading. The Go runtime holds that lock for writing
// around fork, so no fork from os/exec or syscall in another goroutine can
// copy the descriptor before FD_CLOEXEC is set.
func newSocket() (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()

	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, err
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
