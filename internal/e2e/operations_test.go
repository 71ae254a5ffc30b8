//go:build linux

package e2e

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// startActivated runs the daemon the way systemd does with socket
// activation: the test creates and listens on the socket, and the daemon
// receives it as descriptor 3 with LISTEN_FDS=1 and LISTEN_PID set to its
// own PID. A shell sets LISTEN_PID to $$ and then execs the daemon, which
// keeps the PID.
func (e *env) startActivated(args ...string) *net.UnixListener {
	e.t.Helper()
	dir := filepath.Dir(e.socket)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		e.t.Fatal(err)
	}
	old := unix.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: e.socket, Net: "unix"})
	unix.Umask(old)
	if err != nil {
		e.t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	f, err := ln.File()
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()

	e.stderr = &syncBuffer{}
	shArgs := append([]string{"-c", `LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"`, daemonBin}, e.globalArgs()...)
	cmd := exec.Command("/bin/sh", append(append(shArgs, "start"), args...)...)
	cmd.Env = append(e.environ(), "LISTEN_FDS=1", "LISTEN_FDNAMES=keychain-auth.socket")
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stderr = e.stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start daemon: %v", err)
	}
	e.daemon = cmd
	e.exited = make(chan error, 1)
	go func() { e.exited <- cmd.Wait() }()
	e.t.Cleanup(e.stop)
	e.t.Cleanup(func() { ln.Close() })
	e.waitListening()
	return ln
}

// waitListening waits until the daemon logs that it listens.
func (e *env) waitListening() {
	e.t.Helper()
	for i := 0; !strings.Contains(e.stderr.String(), "listening on"); i++ {
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

func TestSocketActivationServesPassedSocket(t *testing.T) {
	e := newEnv(t)
	e.startActivated()
	if !strings.Contains(e.stderr.String(), "socket activation") {
		t.Errorf("daemon log does not mention socket activation:\n%s", e.stderr.String())
	}

	// The denial proves the daemon accepted on the passed socket and
	// identified the caller from its peer credentials.
	client := e.copyClient("activated")
	if got := e.run(client, nil, "-read-first"); len(got) < 1 || got[0] != deniedPend {
		t.Errorf("client on the activated socket got %q; want the denial line", got)
	}

	var st map[string]any
	out, errOut, code := e.cli("status", "--json")
	if code != 0 {
		t.Fatalf("status exited %d: %s", code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if pid, _ := st["pid"].(float64); int(pid) != e.daemon.Process.Pid {
		t.Errorf("status pid = %v; want the activated daemon's pid %d", st["pid"], e.daemon.Process.Pid)
	}

	e.stop()
	if _, err := os.Lstat(e.socket); err != nil {
		t.Errorf("socket file after the daemon stopped: %v; want it kept, because systemd owns it", err)
	}
}

func TestSocketActivationRejectsWrongSocket(t *testing.T) {
	e := newEnv(t)
	other := filepath.Join(e.dir, "other", "agent.sock")
	if err := os.MkdirAll(filepath.Dir(other), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: other, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	cmd := exec.Command("/bin/sh", append(append([]string{"-c", `LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"`, daemonBin}, e.globalArgs()...), "start")...)
	cmd.Env = append(e.environ(), "LISTEN_FDS=1")
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("daemon started on a socket bound to another path; output:\n%s", out)
	}
	if !strings.Contains(string(out), "not to") || !strings.Contains(string(out), e.socket) {
		t.Errorf("daemon output = %q; want an error naming both socket paths", out)
	}
}

func TestStatusJSONFields(t *testing.T) {
	e := newEnv(t)

	// Not running: exit status 1 and every key present.
	out, _, code := e.cli("status", "--json")
	if code != 1 {
		t.Errorf("status with no daemon exited %d; want 1", code)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	for _, k := range []string{"daemon_running", "version", "mode", "config_path", "socket_path", "requires_sudo", "audit_path", "uptime_seconds", "registered_binaries", "pending_entries"} {
		if _, ok := st[k]; !ok {
			t.Errorf("status --json without a daemon lacks key %q:\n%s", k, out)
		}
	}
	if st["daemon_running"] != false {
		t.Errorf("daemon_running = %v; want false", st["daemon_running"])
	}

	e.start()
	e.registerClient("known")
	// Registration is by path and hash, so a copy at another path is
	// queued although its bytes are the same.
	e.run(e.copyClient("unknown"), nil, "-read-first")

	out = e.mustCLI("status", "--json")
	st = map[string]any{}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	want := map[string]any{
		"daemon_running":      true,
		"mode":                "user",
		"config_path":         filepath.Join(e.configDir, "config.json"),
		"socket_path":         e.socket,
		"requires_sudo":       false,
		"registered_binaries": float64(1),
		"pending_entries":     float64(1),
		"pid":                 float64(e.daemon.Process.Pid),
	}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("status --json %s = %v; want %v", k, st[k], v)
		}
	}
	for _, k := range []string{"version", "backend", "protection", "started_at"} {
		if s, _ := st[k].(string); s == "" {
			t.Errorf("status --json %s = %v; want a non-empty string", k, st[k])
		}
	}
	if up, ok := st["uptime_seconds"].(float64); !ok || up < 0 {
		t.Errorf("status --json uptime_seconds = %v; want a number >= 0", st["uptime_seconds"])
	}

	text := e.mustCLI("status")
	for _, want := range []string{"Uptime:", "Registered:    1 binary ", "Pending:       1 binary waiting"} {
		if !strings.Contains(text, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}
}

// auditLines returns the lines of the current audit log.
func auditLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(data), "\n"), "\n")
}

func writeAuditLines(t *testing.T, path string, lines []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAuditVerifyDetectsTampering(t *testing.T) {
	e := newEnv(t)
	e.start()
	client := e.registerClient("audited", "--read", "svc", "--write", "svc")
	e.run(client, []string{
		`{"type":"REQUEST","action":"write","service":"svc","targets":["a"],"values":["1"]}`,
		req("read", "svc", "a"),
		req("read", "other", "a"),
	})
	e.stop()

	logPath := filepath.Join(e.configDir, "data", "audit.log")
	orig := auditLines(t, logPath)
	if len(orig) < 4 {
		t.Fatalf("audit log has %d records; want at least 4 to tamper with", len(orig))
	}
	out, errOut, code := e.cli("audit", "verify")
	if code != 0 || !strings.Contains(out, "Audit chain intact") {
		t.Fatalf("audit verify on the untouched log = exit %d, %q, %q; want exit 0 and intact", code, out, errOut)
	}

	tests := []struct {
		name   string
		tamper func([]string) []string
	}{
		{
			// The chain protects a record through the hash stored in the
			// next one, so the edited record must not be the last.
			name: "edited record",
			tamper: func(lines []string) []string {
				edited := append([]string(nil), lines...)
				i := len(edited) - 2
				if !strings.Contains(edited[i], `"GRANTED"`) {
					t.Fatalf("record %d is not a granted read: %s", i+1, edited[i])
				}
				edited[i] = strings.Replace(edited[i], `"GRANTED"`, `"DENIED"`, 1)
				return edited
			},
		},
		{
			name: "removed record",
			tamper: func(lines []string) []string {
				mid := len(lines) / 2
				return append(append([]string(nil), lines[:mid]...), lines[mid+1:]...)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeAuditLines(t, logPath, tt.tamper(orig))
			defer writeAuditLines(t, logPath, orig)

			out, _, code := e.cli("audit", "verify")
			if code != 1 {
				t.Errorf("audit verify after %s exited %d; want 1", tt.name, code)
			}
			if !strings.Contains(out, "Audit chain broken") {
				t.Errorf("audit verify after %s printed %q; want a broken chain report", tt.name, out)
			}
		})
	}
}

func TestApproveWithoutTerminal(t *testing.T) {
	e := newEnv(t)
	e.start()
	client := e.copyClient("queued")
	e.run(client, nil, "-read-first")

	out, errOut, code := e.cli("approve")
	if code != 2 {
		t.Errorf("approve without a terminal exited %d; want 2", code)
	}
	if !strings.Contains(out, "Path:      "+client) {
		t.Errorf("approve without a terminal printed %q; want the pending list", out)
	}
	if !strings.Contains(errOut, "not a terminal") || !strings.Contains(errOut, "keychain-auth approve <hash>") {
		t.Errorf("stderr = %q; want the reason and the command to run", errOut)
	}
}
