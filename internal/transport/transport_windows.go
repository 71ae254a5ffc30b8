package transport

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"

	"github.com/keychain-auth/keychain-auth/paths"
)

// pipeListener is a named pipe listener. The pipe object disappears with the
// last handle, so a crashed daemon leaves nothing stale to remove.
type pipeListener struct {
	net.Listener
	path      string
	closeOnce sync.Once
	closeErr  error
}

func (l *pipeListener) Path() string { return l.path }

func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.Listener.Close() })
	return l.closeErr
}

// listen creates the named pipe with a DACL that admits only this user and
// SYSTEM. go-winio v0.6.4 creates every pipe instance with
// FILE_PIPE_REJECT_REMOTE_CLIENTS, so clients on other machines are rejected
// by the kernel, and creates the first instance with FILE_CREATE, so it fails
// instead of joining a pipe that another process (possibly another user
// squatting on the name) created first.
func listen(opts Options) (Listener, error) {
	path := opts.Path
	if path == "" {
		path = paths.WindowsPipe
	}
	if opts.Mode == paths.ModeSystem {
		return nil, errors.New("listen: system mode is only supported on Linux")
	}

	sid, err := currentUserSID()
	if err != nil {
		return nil, fmt.Errorf("listen on %q: %w", path, err)
	}
	sddl, err := PipeSecurityDescriptor(sid)
	if err != nil {
		return nil, fmt.Errorf("listen on %q: %w", path, err)
	}

	ln, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: sddl})
	if err != nil {
		if errors.Is(err, windows.ERROR_ALREADY_EXISTS) || errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_PIPE_BUSY) {
			return nil, fmt.Errorf("%w: pipe %q exists (%v); stop the other daemon or use another --socket", ErrAlreadyRunning, path, err)
		}
		return nil, fmt.Errorf("listen on %q: %w", path, err)
	}
	return &pipeListener{Listener: ln, path: path}, nil
}

// currentUserSID returns the string SID of the user in this process's token.
func currentUserSID() (string, error) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("read process token user: %w", err)
	}
	return user.User.Sid.String(), nil
}

// dial opens the pipe. go-winio opens the client handle without inheritance
// and at the anonymous impersonation level.
func dial(path string, timeout time.Duration) (net.Conn, error) {
	return winio.DialPipe(path, &timeout)
}
