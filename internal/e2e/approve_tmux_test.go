//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tmuxSession is a detached tmux server on its own socket, running one
// command in a terminal of fixed size.
type tmuxSession struct {
	t      *testing.T
	socket string
	env    []string
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func newTmux(t *testing.T, e *env, command []string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (CI installs it)")
	}
	s := &tmuxSession{t: t, socket: filepath.Join(e.dir, "tmux.sock"), env: append(e.environ(), "TERM=xterm-256color")}
	words := make([]string, len(command))
	for i, w := range command {
		words[i] = shellQuote(w)
	}
	// The shell reports the exit status and keeps the pane open to be read.
	script := strings.Join(words, " ") + "; echo EXIT=$?; sleep 600"
	s.run("-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "30", script)
	t.Cleanup(func() { exec.Command("tmux", "-S", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	cmd := exec.Command("tmux", append([]string{"-S", s.socket}, args...)...)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen returns the visible pane.
func (s *tmuxSession) screen() string {
	s.t.Helper()
	return s.run("capture-pane", "-p")
}

// waitFor polls the pane until it shows text. The bound only keeps a hung
// command from hanging the test run.
func (s *tmuxSession) waitFor(text string) string {
	s.t.Helper()
	var screen string
	for i := 0; i < 600; i++ {
		screen = s.screen()
		if strings.Contains(screen, text) {
			return screen
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("terminal never showed %q; screen:\n%s", text, screen)
	return ""
}

// queuedCopy writes a copy of the test client with extra bytes, so it has
// its own hash, and runs it once so the daemon queues it.
func (e *env) queuedCopy(name string) string {
	e.t.Helper()
	data, err := os.ReadFile(clientBin)
	if err != nil {
		e.t.Fatal(err)
	}
	p := filepath.Join(e.dir, "bin", name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, append(data, name...), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if got := e.run(p, nil, "-read-first"); len(got) < 1 || got[0] != deniedPend {
		e.t.Fatalf("%s got %q; want the denial", name, got)
	}
	return p
}

func TestApproveInteractiveInTmux(t *testing.T) {
	e := newEnv(t)
	e.start()
	first := e.queuedCopy("first-tool")
	second := e.queuedCopy("second-tool")

	tm := newTmux(t, e, append(append([]string{daemonBin}, e.globalArgs()...), "approve"))
	screen := tm.waitFor("Pick a binary to approve")
	if !strings.Contains(screen, "> 1. "+first) || !strings.Contains(screen, "  2. "+second) {
		t.Fatalf("picker does not list both binaries with the cursor on the first:\n%s", screen)
	}

	tm.run("send-keys", "Down")
	screen = tm.waitFor("> 2. " + second)
	tm.run("send-keys", "Enter")
	screen = tm.waitFor("EXIT=")
	t.Logf("terminal after approving:\n%s", screen)
	if !strings.Contains(screen, "Approved "+second) || !strings.Contains(screen, "EXIT=0") {
		t.Errorf("approve did not approve the second binary:\n%s", screen)
	}
	if n := strings.Count(screen, "Pick a binary to approve"); n != 1 {
		t.Errorf("picker header shown %d times; want 1 (redraws must replace the list):\n%s", n, screen)
	}

	if _, _, code := e.cli("check", second); code != 0 {
		t.Errorf("check %s exited %d after approval; want 0", second, code)
	}
	if _, _, code := e.cli("check", first); code == 0 {
		t.Errorf("check %s exited 0; the first binary must stay unapproved", first)
	}
	out := e.mustCLI("list-pending")
	if !strings.Contains(out, first) || strings.Contains(out, second) {
		t.Errorf("pending queue after approval:\n%s\nwant only %s", out, first)
	}
}

func TestApproveInteractiveCancel(t *testing.T) {
	e := newEnv(t)
	e.start()
	tool := e.queuedCopy("kept-tool")

	tm := newTmux(t, e, append(append([]string{daemonBin}, e.globalArgs()...), "approve"))
	tm.waitFor("Pick a binary to approve")
	tm.run("send-keys", "q")
	screen := tm.waitFor("EXIT=")
	if !strings.Contains(screen, "Nothing approved.") || !strings.Contains(screen, "EXIT=1") {
		t.Errorf("cancel did not report and exit 1:\n%s", screen)
	}
	if out := e.mustCLI("list-pending"); !strings.Contains(out, tool) {
		t.Errorf("pending queue after cancel lacks %s:\n%s", tool, out)
	}
}
