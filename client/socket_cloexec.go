//go:build linux || freebsd || netbsd || openbsd || dragonfly || solaris

package client

import "golang.org/x/sys/unix"

// newSocket creates a non-blocking Unix stream socket. SOCK_CLOEXEC in the
// same socket(2) call means no concurrent fork can inherit it.
func newSocket() (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
