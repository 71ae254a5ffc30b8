//go:build linux

package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAttackOtherNamespace runs a registered client inside its own user and
// PID namespaces. There it could forge the PID in the credentials it
// sends, so the daemon closes the connection before answering.
func TestAttackOtherNamespace(t *testing.T) {
	if err := exec.Command("unshare", "--user", "--map-root-user", "--pid", "--fork", "true").Run(); err != nil {
		t.Skipf("cannot create user and PID namespaces here: %v", err)
	}
	e := newEnv(t)
	e.start()
	client := e.registerClient("namespaced", "--read", "svc")

	cmd := exec.Command("unshare", "--user", "--map-root-user", "--pid", "--fork", client, "-socket", e.socket)
	cmd.Env = e.environ()
	cmd.Stdin = strings.NewReader(req("read", "svc", "k") + "\n")
	out, _ := cmd.Output()
	if got := strings.TrimSpace(string(out)); got != "EOF" {
		t.Errorf("client in its own namespaces got %q; want the connection closed without a response", got)
	}
	if !strings.Contains(e.stderr.String(), "another PID or user namespace") {
		t.Errorf("daemon log does not say why the peer was rejected:\n%s", e.stderr.String())
	}
	// The same binary outside the namespaces is served.
	if got := e.run(client, []string{req("read", "svc", "k")}); len(got) != 1 || got[0] != okEmpty {
		t.Errorf("client in the daemon's namespaces got %q; want %s", got, okEmpty)
	}
}
