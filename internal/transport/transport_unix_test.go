//go:build unix

package transport

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/keychain-auth/keychain-auth/paths"
)

func TestListenPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "keychain-auth")
	sock := filepath.Join(dir, "agent.sock")
	ln, err := Listen(Options{Path: sock, Mode: paths.ModeUser})
	if err != nil {
		t.Fatalf("Listen = %v", err)
	}
	defer ln.Close()

	for _, c := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700}, {sock, 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("mode of %s = %#o; want %#o", c.path, got, c.want)
		}
	}
}

func TestListenSecondDaemonRejected(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := Listen(Options{Path: sock})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := Listen(Options{Path: sock}); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("second Listen = %v; want ErrAlreadyRunning", err)
	}
}

func TestListenRemovesStaleSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "agent.sock")
	// A socket file that nothing listens on, as a crashed daemon leaves it.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()

	ln, err := Listen(Options{Path: sock})
	if err != nil {
		t.Fatalf("Listen over a stale socket = %v; want nil", err)
	}
	ln.Close()
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still exists after Close: %v", err)
	}
}

func TestListenRefusesUnsafeDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(Options{Path: filepath.Join(dir, "agent.sock")}); err == nil {
		t.Error("Listen in a world-writable directory succeeded; want an error")
	}
}

func TestListenLeavesNonSocketAlone(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "agent.sock")
	if err := os.WriteFile(sock, []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(Options{Path: sock}); err == nil {
		t.Error("Listen over a regular file succeeded; want an error")
	}
	if data, err := os.ReadFile(sock); err != nil || string(data) != "not a socket" {
		t.Errorf("regular file was changed: %q, %v", data, err)
	}
}
