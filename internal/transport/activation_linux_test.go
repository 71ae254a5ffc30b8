package transport

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/keychain-auth/keychain-auth/paths"
)

func TestActivationFD(t *testing.T) {
	const pid = 4242
	tests := []struct {
		name    string
		env     map[string]string
		wantFD  int
		wantErr string // empty: no error; "-": errNotActivated
	}{
		{name: "not activated", env: map[string]string{}, wantErr: "-"},
		{name: "other process", env: map[string]string{EnvListenPID: "17", EnvListenFDs: "1"}, wantErr: "-"},
		{name: "one socket", env: map[string]string{EnvListenPID: "4242", EnvListenFDs: "1"}, wantFD: 3},
		{name: "two sockets", env: map[string]string{EnvListenPID: "4242", EnvListenFDs: "2"}, wantErr: "exactly one socket"},
		{name: "no sockets", env: map[string]string{EnvListenPID: "4242", EnvListenFDs: "0"}, wantErr: "exactly one socket"},
		{name: "count missing", env: map[string]string{EnvListenPID: "4242"}, wantErr: "invalid LISTEN_FDS"},
		{name: "pid not a number", env: map[string]string{EnvListenPID: "x", EnvListenFDs: "1"}, wantErr: "invalid LISTEN_PID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			fd, err := activationFD(env, pid)
			switch {
			case tt.wantErr == "-":
				if !errors.Is(err, errNotActivated) {
					t.Errorf("activationFD = %d, %v; want errNotActivated", fd, err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("activationFD = %d, %v; want an error containing %q", fd, err, tt.wantErr)
				}
			default:
				if err != nil || fd != tt.wantFD {
					t.Errorf("activationFD = %d, %v; want %d, nil", fd, err, tt.wantFD)
				}
			}
		})
	}
}

// dupListener returns a duplicate of ln's descriptor, as systemd would
// pass it; listenerFromFD takes ownership of it.
func dupListener(t *testing.T, ln *net.UnixListener) int {
	t.Helper()
	raw, err := ln.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	var dupErr error
	raw.Control(func(s uintptr) { fd, dupErr = unix.Dup(int(s)) })
	if dupErr != nil {
		t.Fatal(dupErr)
	}
	return fd
}

// systemdSocket creates a listening socket in a 0700 directory the way a
// .socket unit with SocketMode=0600 and DirectoryMode=0700 does.
func systemdSocket(t *testing.T) (path string, ln *net.UnixListener) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keychain-auth")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "agent.sock")
	old := unix.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	unix.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	t.Cleanup(func() { ln.Close() })
	return path, ln
}

func TestListenerFromFDServes(t *testing.T) {
	path, orig := systemdSocket(t)
	ln, err := listenerFromFD(dupListener(t, orig), Options{Path: path, Mode: paths.ModeUser})
	if err != nil {
		t.Fatalf("listenerFromFD = %v; want nil", err)
	}
	if got := ln.Path(); got != path {
		t.Errorf("Path() = %q; want %q", got, path)
	}

	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial the passed socket: %v", err)
	}
	c.Close()
	if err := <-accepted; err != nil {
		t.Errorf("Accept on the passed socket = %v", err)
	}

	if err := ln.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("socket file after Close: %v; want it kept for systemd", err)
	}
}

func TestListenerFromFDRejects(t *testing.T) {
	t.Run("wrong path", func(t *testing.T) {
		path, orig := systemdSocket(t)
		_, err := listenerFromFD(dupListener(t, orig), Options{Path: path + ".other", Mode: paths.ModeUser})
		if err == nil || !strings.Contains(err.Error(), "not to") {
			t.Errorf("listenerFromFD(other path) = %v; want a bound-path error", err)
		}
	})

	t.Run("datagram socket", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "agent.sock")
		pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		raw, err := pc.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		fd := -1
		raw.Control(func(s uintptr) { fd, _ = unix.Dup(int(s)) })
		_, err = listenerFromFD(fd, Options{Path: path, Mode: paths.ModeUser})
		if err == nil || !strings.Contains(err.Error(), "stream socket") {
			t.Errorf("listenerFromFD(datagram) = %v; want a socket type error", err)
		}
	})

	t.Run("connected socket", func(t *testing.T) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fds[1])
		_, err = listenerFromFD(fds[0], Options{Path: filepath.Join(t.TempDir(), "agent.sock"), Mode: paths.ModeUser})
		if err == nil || !strings.Contains(err.Error(), "not listening") {
			t.Errorf("listenerFromFD(socketpair) = %v; want a not-listening error", err)
		}
	})

	t.Run("regular file", func(t *testing.T) {
		f, err := os.CreateTemp(t.TempDir(), "file")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fd, err := unix.Dup(int(f.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		_, err = listenerFromFD(fd, Options{Path: f.Name(), Mode: paths.ModeUser})
		if err == nil || !strings.Contains(err.Error(), "not a socket") {
			t.Errorf("listenerFromFD(regular file) = %v; want a not-a-socket error", err)
		}
	})

	t.Run("world-writable directory", func(t *testing.T) {
		path, orig := systemdSocket(t)
		if err := os.Chmod(filepath.Dir(path), 0o777); err != nil {
			t.Fatal(err)
		}
		_, err := listenerFromFD(dupListener(t, orig), Options{Path: path, Mode: paths.ModeUser})
		if err == nil || !strings.Contains(err.Error(), "writable by group or others") {
			t.Errorf("listenerFromFD(0777 directory) = %v; want a directory permission error", err)
		}
	})

	t.Run("socket readable by others", func(t *testing.T) {
		path, orig := systemdSocket(t)
		if err := os.Chmod(path, 0o666); err != nil {
			t.Fatal(err)
		}
		_, err := listenerFromFD(dupListener(t, orig), Options{Path: path, Mode: paths.ModeUser})
		if err == nil || !strings.Contains(err.Error(), "SocketMode=0600") {
			t.Errorf("listenerFromFD(0666 socket) = %v; want a socket mode error", err)
		}
	})

	t.Run("second daemon", func(t *testing.T) {
		path, orig := systemdSocket(t)
		first, err := listenerFromFD(dupListener(t, orig), Options{Path: path, Mode: paths.ModeUser})
		if err != nil {
			t.Fatal(err)
		}
		defer first.Close()
		_, err = listenerFromFD(dupListener(t, orig), Options{Path: path, Mode: paths.ModeUser})
		if !errors.Is(err, ErrAlreadyRunning) {
			t.Errorf("second listenerFromFD = %v; want ErrAlreadyRunning", err)
		}
	})
}
