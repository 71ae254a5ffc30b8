package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// errForeignWriter reports request bytes written by a process other than
// the one identified at connect.
var errForeignWriter = errors.New("request written by another process than the one that connected")

// enableWriterCredentials sets SO_PASSCRED on the listening socket. Accepted
// sockets inherit it, and the kernel then tags every chunk of stream data
// with the credentials of the process that wrote it and never merges data
// from different writers into one read. Bytes sent before accept are tagged
// too, because the kernel always attaches credentials while no one has
// accepted the connection yet.
func enableWriterCredentials(ln net.Listener) error {
	sc, ok := ln.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return fmt.Errorf("enable SO_PASSCRED: %T has no file descriptor", ln)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("enable SO_PASSCRED: %w", err)
	}
	var sockErr error
	if err := raw.Control(func(fd uintptr) {
		sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}); err != nil {
		return fmt.Errorf("enable SO_PASSCRED: %w", err)
	}
	if sockErr != nil {
		return fmt.Errorf("enable SO_PASSCRED: %w", sockErr)
	}
	return nil
}

// writerCheckedReader reads request bytes and rejects any chunk whose
// writer is not the process identified at connect. Without it, a process
// could connect, hand a copy of the descriptor to a child, and exec a
// registered binary in its own PID: the identity checks would all see the
// registered binary while the child wrote the requests.
type writerCheckedReader struct {
	conn *net.UnixConn
	pid  int32
	oob  []byte
}

func newRequestReader(nc net.Conn, pid int) io.Reader {
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		return nc
	}
	return &writerCheckedReader{conn: uc, pid: int32(pid), oob: make([]byte, unix.CmsgSpace(unix.SizeofUcred)*2)}
}

func (r *writerCheckedReader) Read(p []byte) (int, error) {
	n, oobn, flags, _, err := r.conn.ReadMsgUnix(p, r.oob)
	if n == 0 {
		return 0, err
	}
	if flags&unix.MSG_CTRUNC != 0 {
		return 0, fmt.Errorf("%w: control data truncated", errForeignWriter)
	}
	if err := r.checkWriter(r.oob[:oobn]); err != nil {
		return 0, err
	}
	return n, err
}

func (r *writerCheckedReader) checkWriter(oob []byte) error {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return fmt.Errorf("%w: parse control data: %v", errForeignWriter, err)
	}
	for i := range msgs {
		cred, err := unix.ParseUnixCredentials(&msgs[i])
		if err != nil {
			continue
		}
		if cred.Pid != r.pid {
			return fmt.Errorf("%w: writer pid %d", errForeignWriter, cred.Pid)
		}
		return nil
	}
	return fmt.Errorf("%w: no credentials attached", errForeignWriter)
}
