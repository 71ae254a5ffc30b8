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

// enableWriterCredentials sets SO_PASSCRED on the listening socket, so the
// kernel tags every chunk of stream data with the credentials of the
// process that wrote it and never merges data from different writers into
// one read. Connections take the option from the listener when they connect
// (Linux 6.18), so transport.Listen sets it before listen() and this call
// only guards listeners created some other way.
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
	// The buffer fits exactly one credentials message. The kernel places
	// credentials first, so descriptors a client passes with SCM_RIGHTS do
	// not fit: the kernel discards them and sets MSG_CTRUNC, which closes
	// the connection. A larger buffer would install them in the daemon.
	return &writerCheckedReader{conn: uc, pid: int32(pid), oob: make([]byte, unix.CmsgSpace(unix.SizeofUcred))}
}

func (r *writerCheckedReader) Read(p []byte) (int, error) {
	n, oobn, flags, _, err := r.conn.ReadMsgUnix(p, r.oob)
	closePassedFDs(r.oob[:oobn])
	if n == 0 {
		return 0, err
	}
	if flags&unix.MSG_CTRUNC != 0 {
		return 0, fmt.Errorf("%w: the client sent control data other than its credentials, such as file descriptors", errForeignWriter)
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
	return errNoCredentials
}

// errNoCredentials reports data without the writer's credentials, which
// happens only when SO_PASSCRED was not yet set on the listening socket as
// the client connected.
var errNoCredentials = fmt.Errorf("%w: no credentials attached", errForeignWriter)

// closePassedFDs closes any descriptors that arrived with SCM_RIGHTS, as a
// second guard against a client filling the daemon's descriptor table.
func closePassedFDs(oob []byte) {
	if len(oob) == 0 {
		return
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
}
