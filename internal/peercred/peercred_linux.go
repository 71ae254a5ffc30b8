package peercred

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pin holds a pidfd when the kernel provides SO_PEERPIDFD (Linux 6.5 and
// later) and the process start time in clock ticks from /proc/<pid>/stat.
type pin struct {
	pidfd     int
	startTime uint64
}

func get(conn net.Conn) (*Cred, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return nil, fmt.Errorf("read peer credentials: %T is not a unix socket", conn)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("read peer credentials: %w", err)
	}

	var ucred *unix.Ucred
	pidfd := -1
	var sockErr error
	err = raw.Control(func(fd uintptr) {
		ucred, sockErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if sockErr != nil {
			return
		}
		// SO_PEERPIDFD returns a pidfd for the process that connected; older
		// kernels return ENOPROTOOPT and the start time check alone remains.
		if v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEERPIDFD); err == nil {
			pidfd = v
		}
	})
	if err == nil {
		err = sockErr
	}
	if err != nil {
		return nil, fmt.Errorf("read peer credentials: %w", err)
	}
	if ucred.Pid <= 0 {
		closeFD(pidfd)
		return nil, fmt.Errorf("read peer credentials: kernel reported pid %d", ucred.Pid)
	}

	if err := checkNamespaces(int(ucred.Pid)); err != nil {
		closeFD(pidfd)
		return nil, fmt.Errorf("read peer credentials: %w", err)
	}

	c := &Cred{PID: int(ucred.Pid), UID: ucred.Uid, pin: pin{pidfd: pidfd}}
	// A pidfd pins the process by itself. Without one, the start time is
	// what tells the connecting process from a later one with its PID.
	if pidfd < 0 {
		start, err := StartTime(c.PID)
		if err != nil {
			return nil, fmt.Errorf("read peer credentials: %w", err)
		}
		c.pin.startTime = start
	}

	// With a pidfd, confirm the PID still names the process that connected:
	// if it exited before we read /proc/<pid>/stat, that stat may belong to
	// another process.
	if err := c.verify(); err != nil {
		c.close()
		return nil, fmt.Errorf("read peer credentials: %w", err)
	}
	return c, nil
}

func (c *Cred) verify() error {
	if c.pin.pidfd >= 0 {
		// While the pidfd's process lives its PID cannot be reused, so a
		// successful signal 0 proves the PID still names the same process.
		if err := unix.PidfdSendSignal(c.pin.pidfd, 0, nil, 0); err != nil {
			if errors.Is(err, unix.ESRCH) {
				return ErrProcessGone
			}
			return fmt.Errorf("check peer pidfd: %w", err)
		}
		return nil
	}
	start, err := StartTime(c.PID)
	if err != nil {
		return ErrProcessGone
	}
	if start != c.pin.startTime {
		return ErrProcessGone
	}
	return nil
}

func (c *Cred) close() error {
	fd := c.pin.pidfd
	c.pin.pidfd = -1
	return closeFD(fd)
}

func closeFD(fd int) error {
	if fd < 0 {
		return nil
	}
	return unix.Close(fd)
}

// StartTime returns the start time of process pid in clock ticks since boot
// (field 22 of /proc/<pid>/stat). Two processes with the same PID never share
// a start time unless they start within one tick, which PID reuse cannot do.
func StartTime(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read process %d start time: %w", pid, err)
	}
	return parseStartTime(data)
}

// parseStartTime extracts field 22 from a /proc/<pid>/stat line. The command
// name in field 2 is in parentheses and may itself contain spaces and
// parentheses, so parsing starts after the last ')'.
func parseStartTime(stat []byte) (uint64, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("parse /proc stat: no command name")
	}
	fields := bytes.Fields(stat[end+1:])
	// fields[0] is field 3 (state), so field 22 is fields[19].
	if len(fields) < 20 {
		return 0, fmt.Errorf("parse /proc stat: %d fields after the command name; want at least 20", len(fields))
	}
	v, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse /proc stat start time: %w", err)
	}
	return v, nil
}

// checkNamespaces rejects a peer whose PID or user namespace differs from
// the daemon's.
func checkNamespaces(pid int) error {
	for _, ns := range []string{"pid", "user"} {
		var own, peer unix.Stat_t
		if err := unix.Stat("/proc/self/ns/"+ns, &own); err != nil {
			return fmt.Errorf("read own %s namespace: %w", ns, err)
		}
		if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/"+ns, &peer); err != nil {
			return fmt.Errorf("read %s namespace of pid %d: %w", ns, pid, err)
		}
		if own.Dev != peer.Dev || own.Ino != peer.Ino {
			return fmt.Errorf("%w (%s namespace)", ErrForeignNamespace, ns)
		}
	}
	return nil
}
