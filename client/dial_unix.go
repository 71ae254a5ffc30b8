//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || solaris

package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// dialEndpoint connects a close-on-exec Unix stream socket to path. The
// socket comes from newSocket, which sets the flag atomically with creation
// on each platform.
func dialEndpoint(ctx context.Context, path string) (net.Conn, error) {
	fd, err := newSocket()
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}

	// The fd is non-blocking, so os.NewFile registers it with the runtime
	// poller and the connect below can wait with a deadline.
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()

	if err := connect(ctx, f, path); err != nil {
		return nil, err
	}

	// FileConn duplicates the descriptor (close-on-exec again), and the
	// deferred Close releases the original.
	conn, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("wrap socket: %w", err)
	}
	return conn, nil
}

// connect runs a non-blocking connect(2) and waits for it to finish, until
// the context's deadline or cancellation.
func connect(ctx context.Context, f *os.File, path string) error {
	if deadline, ok := ctx.Deadline(); ok {
		if err := f.SetWriteDeadline(deadline); err != nil {
			return fmt.Errorf("set connect deadline: %w", err)
		}
	}
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()

	raw, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	addr := &unix.SockaddrUnix{Name: path}
	backoff := time.Millisecond
	for {
		connectErr, err := connectOnce(raw, addr)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return fmt.Errorf("connect: %w", ctxErr)
			}
			return fmt.Errorf("connect: %w", err)
		}
		if connectErr != unix.EAGAIN {
			if connectErr != nil {
				return os.NewSyscallError("connect", connectErr)
			}
			return nil
		}

		// Linux returns EAGAIN while the listener's backlog is full and
		// offers no readiness event for it, so wait and try again.
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("connect: %w", ctx.Err())
		case <-timer.C:
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// connectOnce runs one non-blocking connect(2) and, when the connection
// completes in the background, waits for it. err is a wait failure, such as
// the deadline; connectErr is the result of the connect itself.
func connectOnce(raw syscall.RawConn, addr *unix.SockaddrUnix) (connectErr, err error) {
	started := false
	err = raw.Write(func(fd uintptr) bool {
		if !started {
			started = true
			connectErr = unix.Connect(int(fd), addr)
			switch connectErr {
			case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
				// Wait until the socket is writable, then read the result.
				connectErr = nil
				return false
			}
			return true
		}
		code, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			connectErr = err
		} else if code != 0 {
			connectErr = unix.Errno(code)
		}
		return true
	})
	return connectErr, err
}

// isRefused reports whether err means no process listens on the socket.
func isRefused(err error) bool { return errors.Is(err, unix.ECONNREFUSED) }

// isReset reports whether err means the daemon reset the connection.
func isReset(err error) bool { return errors.Is(err, unix.ECONNRESET) }
