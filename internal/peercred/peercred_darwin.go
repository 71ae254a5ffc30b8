package peercred

import (
	"fmt"
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pin records what identifies the peer process beyond its PID: the PID
// version from the audit token (zero when LOCAL_PEERTOKEN is unavailable) and
// the process start time from the kern.proc.pid sysctl.
type pin struct {
	pidVersion uint32
	startTime  unix.Timeval
}

func get(conn net.Conn) (*Cred, error) {
	// A process that started after this point cannot be the one that
	// connected, which catches a PID reused before the start time is read.
	begun := time.Now()

	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return nil, fmt.Errorf("read peer credentials: %T is not a unix socket", conn)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("read peer credentials: %w", err)
	}

	var (
		xucred   *unix.Xucred
		pid      int
		token    auditToken
		hasToken bool
		sockErr  error
	)
	err = raw.Control(func(fd uintptr) {
		xucred, sockErr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if sockErr != nil {
			return
		}
		pid, sockErr = unix.GetsockoptInt(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERPID)
		if sockErr != nil {
			return
		}
		// The audit token (macOS 10.15 and later) carries the PID version;
		// older systems fall back to the start time alone.
		if b, err := getsockoptBytes(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERTOKEN, auditTokenSize); err == nil {
			if tok, err := parseAuditToken(b); err == nil {
				token, hasToken = tok, true
			}
		}
	})
	if err == nil {
		err = sockErr
	}
	if err != nil {
		return nil, fmt.Errorf("read peer credentials: %w", err)
	}
	if pid <= 0 {
		return nil, fmt.Errorf("read peer credentials: kernel reported pid %d", pid)
	}
	if xucred.Version != xucredVersion {
		return nil, fmt.Errorf("read peer credentials: xucred version %d; want %d", xucred.Version, xucredVersion)
	}

	c := &Cred{PID: pid, UID: xucred.Uid}
	if hasToken {
		if token.PID != pid || token.EUID != xucred.Uid {
			return nil, fmt.Errorf("read peer credentials: audit token names pid %d uid %d, socket names pid %d uid %d", token.PID, token.EUID, pid, xucred.Uid)
		}
		c.pin.pidVersion = token.PIDVersion
	}

	start, err := startTime(pid)
	if err != nil {
		return nil, fmt.Errorf("read peer credentials: %w", ErrProcessGone)
	}
	if time.Unix(start.Unix()).After(begun) {
		return nil, fmt.Errorf("read peer credentials: pid %d started after the connection: %w", pid, ErrProcessGone)
	}
	c.pin.startTime = start
	return c, nil
}

// verify compares the start time of the process now at PID with the one
// recorded at connect time.
// NOTE: the PID version from the audit token is recorded but not re-read,
// because reading it for a PID needs proc_pidinfo flavors whose layout is
// not in golang.org/x/sys. The start time has microsecond resolution, and a
// reused PID would need a new process started in the same microsecond.
func (c *Cred) verify() error {
	start, err := startTime(c.PID)
	if err != nil {
		return ErrProcessGone
	}
	if start != c.pin.startTime {
		return ErrProcessGone
	}
	return nil
}

func (c *Cred) close() error { return nil }

// xucredVersion is XUCRED_VERSION from <sys/ucred.h>, which x/sys/unix
// does not define.
const xucredVersion = 0

// startTime returns the start time of process pid from the kern.proc.pid
// sysctl. A PID that names no process yields an error.
func startTime(pid int) (unix.Timeval, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return unix.Timeval{}, fmt.Errorf("read process %d start time: %w", pid, err)
	}
	if int(kp.Proc.P_pid) != pid {
		return unix.Timeval{}, fmt.Errorf("read process %d start time: sysctl returned pid %d", pid, kp.Proc.P_pid)
	}
	return kp.Proc.P_starttime, nil
}

// getsockoptBytes reads a socket option of exactly size bytes, which
// golang.org/x/sys/unix has no typed getter for.
func getsockoptBytes(fd, level, opt, size int) ([]byte, error) {
	buf := make([]byte, size)
	n := uint32(size)
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
	if errno != 0 {
		return nil, errno
	}
	if int(n) != size {
		return nil, fmt.Errorf("getsockopt %d returned %d bytes; want %d", opt, n, size)
	}
	return buf, nil
}
