package peercred

import (
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/windows"
)

// pin holds an open handle on the peer process for the life of the
// connection. Windows does not reuse a process ID while any handle to the
// process is open, so after OpenProcess succeeds the PID keeps naming the
// same process. The creation time detects a reuse before the handle opened.
type pin struct {
	process  windows.Handle
	creation windows.Filetime
}

// handleConn is implemented by go-winio's pipe connections.
type handleConn interface {
	Fd() uintptr
}

func get(conn net.Conn) (*Cred, error) {
	// A process created after this point cannot be the one that connected.
	begun := time.Now()

	hc, ok := conn.(handleConn)
	if !ok {
		return nil, fmt.Errorf("read peer credentials: %T is not a named pipe", conn)
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(windows.Handle(hc.Fd()), &pid); err != nil {
		return nil, fmt.Errorf("read peer credentials: GetNamedPipeClientProcessId: %w", err)
	}
	if pid == 0 {
		return nil, fmt.Errorf("read peer credentials: kernel reported pid 0")
	}

	// SYNCHRONIZE lets verify ask whether the process exited.
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.SYNCHRONIZE, false, pid)
	if err != nil {
		return nil, fmt.Errorf("read peer credentials: open process %d: %w", pid, err)
	}
	c := &Cred{PID: int(pid), UID: ^uint32(0), pin: pin{process: h}}

	creation, err := processCreation(h)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("read peer credentials: %w", err)
	}
	if time.Unix(0, creation.Nanoseconds()).After(begun) {
		c.close()
		return nil, fmt.Errorf("read peer credentials: process %d was created after the connection: %w", pid, ErrProcessGone)
	}
	c.pin.creation = creation

	sid, err := processUserSID(h)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("read peer credentials: %w", err)
	}
	c.SID = sid
	own, err := tokenUserSID(windows.GetCurrentProcessToken())
	if err != nil {
		c.close()
		return nil, fmt.Errorf("read peer credentials: %w", err)
	}
	if sid != own {
		c.close()
		return nil, fmt.Errorf("read peer credentials: pid %d runs as %q, the daemon as %q: %w", pid, sid, own, ErrOtherUser)
	}

	if err := c.verify(); err != nil {
		c.close()
		return nil, fmt.Errorf("read peer credentials: %w", err)
	}
	return c, nil
}

// verify checks that the held process has not exited and still has the
// creation time recorded at connect time.
func (c *Cred) verify() error {
	if c.pin.process == 0 {
		return ErrProcessGone
	}
	event, err := windows.WaitForSingleObject(c.pin.process, 0)
	if err != nil {
		return fmt.Errorf("check peer process: %w", err)
	}
	if event != uint32(windows.WAIT_TIMEOUT) {
		return ErrProcessGone
	}
	creation, err := processCreation(c.pin.process)
	if err != nil || creation != c.pin.creation {
		return ErrProcessGone
	}
	return nil
}

func (c *Cred) close() error {
	h := c.pin.process
	c.pin.process = 0
	if h == 0 {
		return nil
	}
	return windows.CloseHandle(h)
}

func processCreation(h windows.Handle) (windows.Filetime, error) {
	var creation, exit, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &creation, &exit, &kernel, &user); err != nil {
		return windows.Filetime{}, fmt.Errorf("read process creation time: %w", err)
	}
	return creation, nil
}

func processUserSID(h windows.Handle) (string, error) {
	var token windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &token); err != nil {
		return "", fmt.Errorf("open peer process token: %w", err)
	}
	defer token.Close()
	return tokenUserSID(token)
}

func tokenUserSID(token windows.Token) (string, error) {
	user, err := token.GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("read token user: %w", err)
	}
	return user.User.Sid.String(), nil
}
