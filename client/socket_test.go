//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || solaris

package client

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestNewSocketCloseOnExec(t *testing.T) {
	fd, err := newSocket()
	if err != nil {
		t.Fatalf("newSocket() = %v", err)
	}
	defer unix.Close(fd)

	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatalf("fcntl(F_GETFD) = %v", err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("newSocket() descriptor flags = %#x; want FD_CLOEXEC set", flags)
	}
	status, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		t.Fatalf("fcntl(F_GETFL) = %v", err)
	}
	if status&unix.O_NONBLOCK == 0 {
		t.Errorf("newSocket() status flags = %#x; want O_NONBLOCK set", status)
	}
}
