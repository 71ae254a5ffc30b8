//go:build !windows

package client_test

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keychain-auth/keychain-auth/paths"
	"github.com/keychain-auth/keychain-auth/protocol"
)

// TestExampleProgram builds examples/go-client and runs it the way a user
// would, against fake daemons that accept, deny, or are missing.
func TestExampleProgram(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "go-client")
	if out, err := exec.Command(goTool(t), "build", "-o", bin, "../examples/go-client").CombinedOutput(); err != nil {
		t.Fatalf("go build ../examples/go-client: %v\n%s", err, out)
	}
	run := func(t *testing.T, socket string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), paths.EnvSocket+"="+socket)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exitErr *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exitErr):
			code = exitErr.ExitCode()
		default:
			t.Fatalf("run go-client: %v", err)
		}
		return out.String(), errOut.String(), code
	}

	t.Run("registered", func(t *testing.T) {
		srv := newStoreServer(t)
		stdout, stderr, code := run(t, srv.path)
		if code != 0 {
			t.Fatalf("go-client exit status %d; want 0\n%s", code, stderr)
		}
		want := "proj_123:development:API_KEY=dev-api-key-123\nproj_123:development:DATABASE_URL=postgres://localhost:5432/dev\n"
		if stdout != want {
			t.Errorf("go-client printed %q; want %q", stdout, want)
		}
	})

	t.Run("pending approval", func(t *testing.T) {
		srv := startServer(t, func(conn net.Conn) {
			conn.Write([]byte(protocol.DenialUnregistered))
		})
		stdout, stderr, code := run(t, srv.path)
		if code != 1 {
			t.Errorf("go-client exit status %d; want 1", code)
		}
		if stdout != "" {
			t.Errorf("go-client printed %q on stdout; want nothing", stdout)
		}
		if want := "keychain-auth approve " + fileHash(t, bin); !strings.Contains(stderr, want) {
			t.Errorf("go-client stderr %q does not contain %q", stderr, want)
		}
	})

	t.Run("daemon not running", func(t *testing.T) {
		socket := filepath.Join(t.TempDir(), "missing.sock")
		_, stderr, code := run(t, socket)
		if code != 1 {
			t.Errorf("go-client exit status %d; want 1", code)
		}
		for _, want := range []string{"keychain-auth start", socket} {
			if !strings.Contains(stderr, want) {
				t.Errorf("go-client stderr %q does not contain %q", stderr, want)
			}
		}
	})
}
