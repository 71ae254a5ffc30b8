//go:build linux

package client_test

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The types below mirror testdata/daemonclient's JSON lines.
type daemonCommand struct {
	Method     string            `json:"method"`
	Service    string            `json:"service"`
	Action     string            `json:"action,omitempty"`
	Match      string            `json:"match,omitempty"`
	Targets    []string          `json:"targets,omitempty"`
	Values     []string          `json:"values,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

type daemonResult struct {
	Target     string            `json:"target"`
	Value      *string           `json:"value,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

type daemonReply struct {
	Results []daemonResult `json:"results,omitempty"`
	Error   string         `json:"error,omitempty"`
	Message string         `json:"message,omitempty"`
	Hash    string         `json:"hash,omitempty"`
}

// realDaemon holds the binaries and the isolated environment of one test.
type realDaemon struct {
	daemonBin string
	clientBin string
	env       []string
	configDir string
	socket    string
}

// setupRealDaemon builds the daemon and the client program into t.TempDir
// and prepares a home, config directory and socket path that are not the
// user's. It skips the test when cmd/keychain-auth does not build.
func setupRealDaemon(t *testing.T) *realDaemon {
	t.Helper()
	goCmd := goTool(t)
	bin := t.TempDir()

	d := &realDaemon{
		daemonBin: filepath.Join(bin, "keychain-auth"),
		clientBin: filepath.Join(bin, "daemonclient"),
	}
	if out, err := exec.Command(goCmd, "build", "-o", d.daemonBin, "../cmd/keychain-auth").CombinedOutput(); err != nil {
		t.Skipf("cmd/keychain-auth does not build, so the real-daemon test cannot run: %v\n%s", err, out)
	}
	if out, err := exec.Command(goCmd, "build", "-o", d.clientBin, "./testdata/daemonclient").CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/daemonclient: %v\n%s", err, out)
	}

	home := t.TempDir()
	d.configDir = filepath.Join(home, "config")
	d.socket = filepath.Join(t.TempDir(), "agent.sock")
	for _, kv := range os.Environ() {
		key, _, _ := strings.Cut(kv, "=")
		switch {
		case key == "HOME", strings.HasPrefix(key, "XDG_"), strings.HasPrefix(key, "KEYCHAIN_AUTH_"), key == "DBUS_SESSION_BUS_ADDRESS":
			continue
		}
		d.env = append(d.env, kv)
	}
	d.env = append(d.env,
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_RUNTIME_DIR="+filepath.Join(home, "run"),
	)
	return d
}

// start runs "keychain-auth start" in the foreground and returns once it
// logs that it is listening. ok is false, with the daemon's output, when it
// exits first. Cleanup stops it with SIGTERM.
func (d *realDaemon) start(t *testing.T, backend string, extraArgs ...string) (ok bool, output string) {
	t.Helper()
	args := append([]string{"--config-dir", d.configDir, "--socket", d.socket, "start", "--backend", backend}, extraArgs...)
	cmd := exec.Command(d.daemonBin, args...)
	cmd.Env = d.env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	listening := make(chan struct{})
	var mu sync.Mutex
	var log strings.Builder
	go func() {
		scanner := bufio.NewScanner(stderr)
		signalled := false
		for scanner.Scan() {
			mu.Lock()
			log.WriteString(scanner.Text() + "\n")
			mu.Unlock()
			if !signalled && strings.Contains(scanner.Text(), "listening on") {
				signalled = true
				close(listening)
			}
		}
		if !signalled {
			close(listening)
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	})

	<-listening
	mu.Lock()
	defer mu.Unlock()
	started := strings.Contains(log.String(), "listening on")
	return started, log.String()
}

// cli runs an administration command and fails the test when it fails.
func (d *realDaemon) cli(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(d.daemonBin, append([]string{"--config-dir", d.configDir}, args...)...)
	cmd.Env = d.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("keychain-auth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// clientProgram is a running testdata/daemonclient.
type clientProgram struct {
	stdin  io.WriteCloser
	stdout *bufio.Scanner
}

func (d *realDaemon) startClient(t *testing.T) *clientProgram {
	t.Helper()
	cmd := exec.Command(d.clientBin, d.socket)
	cmd.Env = d.env
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	scanner := bufio.NewScanner(stdout)
	scanner.Buffer(nil, 4<<20)
	return &clientProgram{stdin: stdin, stdout: scanner}
}

func (p *clientProgram) call(t *testing.T, cmd daemonCommand) daemonReply {
	t.Helper()
	line, err := json.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		t.Fatalf("send command to daemonclient: %v", err)
	}
	if !p.stdout.Scan() {
		t.Fatalf("daemonclient exited: %v", p.stdout.Err())
	}
	var reply daemonReply
	if err := json.Unmarshal(p.stdout.Bytes(), &reply); err != nil {
		t.Fatalf("decode daemonclient reply %q: %v", p.stdout.Text(), err)
	}
	return reply
}

func strPtr(s string) *string { return &s }

// step is one call to the daemon and the reply it must produce. Message and
// Hash are checked separately.
type step struct {
	name string
	cmd  daemonCommand
	want daemonReply
}

func runSteps(t *testing.T, p *clientProgram, steps []step) {
	t.Helper()
	for _, s := range steps {
		got := p.call(t, s.cmd)
		if diff := cmp.Diff(s.want, got, cmpopts.IgnoreFields(daemonReply{}, "Message", "Hash")); diff != "" {
			t.Errorf("%s: reply (-want +got):\n%s\nmessage: %s", s.name, diff, got.Message)
		}
	}
}

func TestRealDaemon(t *testing.T) {
	d := setupRealDaemon(t)
	if ok, log := d.start(t, "vault"); !ok {
		t.Fatalf("keychain-auth start exited before listening:\n%s", log)
	}
	p := d.startClient(t)
	hash := fileHash(t, d.clientBin)

	// Unregistered: denied on connect, and the error names the approve
	// command with the same hash the daemon queued.
	got := p.call(t, daemonCommand{Method: "read", Service: service, Targets: []string{"proj_123:development:API_KEY"}})
	if got.Error != "ErrUnregistered" {
		t.Fatalf("read before registration = %+v; want ErrUnregistered", got)
	}
	if got.Hash != hash {
		t.Errorf("Error.Hash = %q; want %q", got.Hash, hash)
	}
	if want := "keychain-auth approve " + hash; !strings.Contains(got.Message, want) {
		t.Errorf("message %q does not contain %q", got.Message, want)
	}
	if pending := d.cli(t, "list-pending"); !strings.Contains(pending, hash) {
		t.Errorf("list-pending output does not contain the client's hash %s:\n%s", hash, pending)
	}

	// Registered with no rights.
	d.cli(t, "register", d.clientBin)
	runSteps(t, p, []step{{
		name: "read with no rights",
		cmd:  daemonCommand{Method: "read", Service: service, Targets: []string{"proj_123:development:API_KEY"}},
		want: daemonReply{Error: "ErrServiceNotAllowed"},
	}})

	// Read and write rights, no search right.
	d.cli(t, "grant", d.clientBin, "--read", service, "--write", service)
	attrs := map[string]string{"project": "proj_123"}
	runSteps(t, p, []step{
		{
			name: "batch write",
			cmd: daemonCommand{Method: "write", Service: service, Attributes: attrs,
				Targets: []string{"proj_123:development:DATABASE_URL", "proj_123:development:API_KEY", "proj_123:staging:DATABASE_URL"},
				Values:  []string{"postgres://localhost/dev", "dev-key", "postgres://staging/app"}},
			want: daemonReply{},
		},
		{
			name: "read exact",
			cmd:  daemonCommand{Method: "read", Service: service, Targets: []string{"proj_123:staging:DATABASE_URL", "proj_123:missing", "proj_123:development:API_KEY"}},
			want: daemonReply{Results: []daemonResult{
				{Target: "proj_123:staging:DATABASE_URL", Value: strPtr("postgres://staging/app"), Attributes: attrs},
				{Target: "proj_123:development:API_KEY", Value: strPtr("dev-key"), Attributes: attrs},
			}},
		},
		{
			name: "read prefix without search right",
			cmd:  daemonCommand{Method: "read-prefix", Service: service, Targets: []string{"proj_123:development:"}},
			want: daemonReply{Error: "ErrActionNotInPolicy"},
		},
		{
			name: "search without search right",
			cmd:  daemonCommand{Method: "search", Service: service},
			want: daemonReply{Error: "ErrActionNotInPolicy"},
		},
		{
			name: "delete prefix without search right",
			cmd:  daemonCommand{Method: "delete-prefix", Service: service, Targets: []string{"proj_123:"}},
			want: daemonReply{Error: "ErrActionNotInPolicy"},
		},
		{
			name: "read other service",
			cmd:  daemonCommand{Method: "read", Service: "aws", Targets: []string{"prod:key"}},
			want: daemonReply{Error: "ErrServiceNotAllowed"},
		},
		{
			name: "write other service",
			cmd:  daemonCommand{Method: "write", Service: "aws", Targets: []string{"prod:key"}, Values: []string{"v"}},
			want: daemonReply{Error: "ErrServiceNotAllowed"},
		},
		{
			name: "unknown action through Do",
			cmd:  daemonCommand{Method: "do", Action: "rename", Service: service, Targets: []string{"a"}},
			want: daemonReply{Error: "ErrMalformedRequest"},
		},
		{
			name: "write with missing value through Do",
			cmd:  daemonCommand{Method: "do", Action: "write", Service: service, Targets: []string{"a", "b"}, Values: []string{"1"}},
			want: daemonReply{Error: "ErrMalformedRequest"},
		},
		{
			name: "connection usable after malformed request",
			cmd:  daemonCommand{Method: "read", Service: service, Targets: []string{"proj_123:development:API_KEY"}},
			want: daemonReply{Results: []daemonResult{{Target: "proj_123:development:API_KEY", Value: strPtr("dev-key"), Attributes: attrs}}},
		},
	})

	// Search right added: prefix reads, search and prefix deletes work.
	d.cli(t, "grant", d.clientBin, "--search")
	runSteps(t, p, []step{
		{
			name: "read prefix",
			cmd:  daemonCommand{Method: "read-prefix", Service: service, Targets: []string{"proj_123:development:"}},
			want: daemonReply{Results: []daemonResult{
				{Target: "proj_123:development:API_KEY", Value: strPtr("dev-key"), Attributes: attrs},
				{Target: "proj_123:development:DATABASE_URL", Value: strPtr("postgres://localhost/dev"), Attributes: attrs},
			}},
		},
		{
			name: "search",
			cmd:  daemonCommand{Method: "search", Service: service, Targets: []string{"proj_123:"}, Attributes: attrs},
			want: daemonReply{Results: []daemonResult{
				{Target: "proj_123:development:API_KEY", Attributes: attrs},
				{Target: "proj_123:development:DATABASE_URL", Attributes: attrs},
				{Target: "proj_123:staging:DATABASE_URL", Attributes: attrs},
			}},
		},
		{
			name: "delete exact with a missing target",
			cmd:  daemonCommand{Method: "delete", Service: service, Targets: []string{"proj_123:staging:DATABASE_URL", "proj_123:missing"}},
			want: daemonReply{},
		},
		{
			name: "delete prefix",
			cmd:  daemonCommand{Method: "delete-prefix", Service: service, Targets: []string{"proj_123:development:"}},
			want: daemonReply{},
		},
		{
			name: "search after deletes",
			cmd:  daemonCommand{Method: "search", Service: service},
			want: daemonReply{},
		},
	})
}

// TestRealDaemonInternalError removes the daemon's data directory while it
// runs. The audit log rotates before every record (--audit-max-size 1), so
// the next record cannot be written, and the daemon must refuse the request
// with internal_error rather than serve it unaudited.
func TestRealDaemonInternalError(t *testing.T) {
	d := setupRealDaemon(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	if ok, log := d.start(t, "vault", "--data-dir", dataDir, "--audit-max-size", "1"); !ok {
		t.Fatalf("keychain-auth start exited before listening:\n%s", log)
	}
	d.cli(t, "register", d.clientBin)
	d.cli(t, "grant", d.clientBin, "--read", service, "--write", service)
	p := d.startClient(t)

	runSteps(t, p, []step{{
		name: "write before the failure",
		cmd:  daemonCommand{Method: "write", Service: service, Targets: []string{"k"}, Values: []string{"v"}},
		want: daemonReply{},
	}})
	if err := os.RemoveAll(dataDir); err != nil {
		t.Fatal(err)
	}
	runSteps(t, p, []step{
		{
			name: "read with audit log unwritable",
			cmd:  daemonCommand{Method: "read", Service: service, Targets: []string{"k"}},
			want: daemonReply{Error: "ErrInternal"},
		},
		{
			name: "write with audit log unwritable",
			cmd:  daemonCommand{Method: "write", Service: service, Targets: []string{"k"}, Values: []string{"v2"}},
			want: daemonReply{Error: "ErrInternal"},
		},
	})
}
