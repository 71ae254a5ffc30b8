//go:build linux

// Package e2e runs the real daemon on a socket in a temp dir and talks to it
// from real child processes, so peer credentials and executable hashing are
// exercised as in production.
package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	// The tests build the daemon with "go build"; importing its packages
	// makes the test cache notice when their sources change.
	_ "github.com/keychain-auth/keychain-auth/internal/cli"
)

// Binaries built once by TestMain.
var (
	daemonBin string
	clientBin string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kca-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	daemonBin = filepath.Join(dir, "keychain-auth")
	clientBin = filepath.Join(dir, "kaclient")
	for pkg, out := range map[string]string{
		"github.com/keychain-auth/keychain-auth/cmd/keychain-auth":     daemonBin,
		"github.com/keychain-auth/keychain-auth/internal/e2e/kaclient": clientBin,
	} {
		args := []string{"build", "-o", out}
		// KCA_E2E_RACE=1 builds the daemon and clients with the race
		// detector, so the server code runs under it.
		if os.Getenv("KCA_E2E_RACE") == "1" {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, pkg)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n", pkg, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is one isolated installation: its own config dir, data dir and socket.
type env struct {
	t         testing.TB
	dir       string
	configDir string
	socket    string
	daemon    *exec.Cmd
	stderr    *syncBuffer
	exited    chan error
	// extraEnv is added to every child's environment.
	extraEnv []string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{
		t:         t,
		dir:       dir,
		configDir: filepath.Join(dir, "config"),
		socket:    filepath.Join(dir, "run", "agent.sock"),
	}
	return e
}

// environ returns a child environment that cannot reach the real home.
func (e *env) environ() []string {
	return append([]string{
		"HOME=" + filepath.Join(e.dir, "home"),
		"XDG_RUNTIME_DIR=" + filepath.Join(e.dir, "xdg-run"),
		"XDG_CONFIG_HOME=" + filepath.Join(e.dir, "xdg-config"),
		"XDG_DATA_HOME=" + filepath.Join(e.dir, "xdg-data"),
		"PATH=" + os.Getenv("PATH"),
		// Binaries built with -race otherwise sleep a second at exit.
		"GORACE=atexit_sleep_ms=0",
	}, e.extraEnv...)
}

func (e *env) globalArgs() []string {
	return []string{"--config-dir", e.configDir, "--socket", e.socket}
}

// start runs the daemon and waits until it listens.
func (e *env) start(args ...string) {
	e.t.Helper()
	e.stderr = &syncBuffer{}
	cmd := exec.Command(daemonBin, append(append(e.globalArgs(), "start"), args...)...)
	cmd.Env = e.environ()
	cmd.Stderr = e.stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start daemon: %v", err)
	}
	e.daemon = cmd
	e.exited = make(chan error, 1)
	go func() { e.exited <- cmd.Wait() }()
	e.t.Cleanup(e.stop)

	for i := 0; ; i++ {
		if strings.Contains(e.stderr.String(), "listening on") {
			return
		}
		select {
		case err := <-e.exited:
			e.exited <- err
			e.t.Fatalf("daemon exited during start-up: %v\nstderr:\n%s", err, e.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if i > 3000 {
			e.t.Fatalf("daemon did not log 'listening on' in 30s; stderr:\n%s", e.stderr.String())
		}
	}
}

// stop sends SIGTERM and waits for the daemon to exit.
func (e *env) stop() {
	if e.daemon == nil {
		return
	}
	e.daemon.Process.Signal(os.Interrupt)
	defer func() {
		if strings.Contains(e.stderr.String(), "WARNING: DATA RACE") {
			e.t.Errorf("the race detector reported a data race in the daemon:\n%s", e.stderr.String())
		}
	}()
	select {
	case <-e.exited:
	case <-time.After(20 * time.Second):
		e.daemon.Process.Kill()
		<-e.exited
		e.t.Errorf("daemon did not stop within 20s of SIGINT")
	}
	e.daemon = nil
}

// cli runs a keychain-auth command and returns stdout, stderr and exit code.
func (e *env) cli(args ...string) (string, string, int) {
	e.t.Helper()
	cmd := exec.Command(daemonBin, append(e.globalArgs(), args...)...)
	cmd.Env = e.environ()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run keychain-auth %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// mustCLI runs a command that must succeed.
func (e *env) mustCLI(args ...string) string {
	e.t.Helper()
	out, errOut, code := e.cli(args...)
	if code != 0 {
		e.t.Fatalf("keychain-auth %s exited %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// copyClient copies the test client binary to a new path in the env, so
// each test controls which paths are registered.
func (e *env) copyClient(name string) string {
	e.t.Helper()
	data, err := os.ReadFile(clientBin)
	if err != nil {
		e.t.Fatal(err)
	}
	p := filepath.Join(e.dir, "bin", name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o755); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// registerClient copies the client, registers it and grants the rights.
func (e *env) registerClient(name string, grantArgs ...string) string {
	e.t.Helper()
	p := e.copyClient(name)
	e.mustCLI("register", p)
	if len(grantArgs) > 0 {
		e.mustCLI(append([]string{"grant", p}, grantArgs...)...)
	}
	return p
}

// run sends request lines through the client binary at path and returns
// the response lines.
func (e *env) run(client string, lines []string, flags ...string) []string {
	e.t.Helper()
	cmd := exec.Command(client, append([]string{"-socket", e.socket}, flags...)...)
	cmd.Env = e.environ()
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	if errb.Len() > 0 {
		e.t.Logf("client stderr: %s", errb.String())
	}
	return splitLines(out.String())
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// session is a client process holding one open connection.
type session struct {
	t     testing.TB
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func (e *env) open(client string) *session {
	e.t.Helper()
	cmd := exec.Command(client, "-socket", e.socket)
	cmd.Env = e.environ()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	s := &session{t: e.t, cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	e.t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	return s
}

// do sends one request on the open connection and returns the response.
func (s *session) do(line string) string {
	s.t.Helper()
	if _, err := io.WriteString(s.stdin, line+"\n"); err != nil {
		s.t.Fatalf("write to client: %v", err)
	}
	resp, err := s.out.ReadString('\n')
	if err != nil {
		s.t.Fatalf("read from client: %v", err)
	}
	return strings.TrimRight(resp, "\n")
}
