//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAttackOtherNamespace runs a registered client inside its own user and
// PID namespaces. There it could forge the PID in the credentials it
// sends, so the daemon closes the connection before responding.
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

// TestPassedDescriptorsDropped sends file descriptors with SCM_RIGHTS along
// with a request. None may stay open in the daemon, and the connection is
// closed unanswered.
func TestPassedDescriptorsDropped(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.registerSelf("--read", "svc")
	pid := e.daemonPID()
	// One plain request first, so the descriptors the daemon keeps open on
	// first use (config.json) are counted in before.
	warm := e.dial()
	if err := warm.send(req("read", "svc", "k")); err != nil {
		t.Fatal(err)
	}
	if got := warm.recv(); got != okEmpty {
		t.Fatalf("plain request got %s", got)
	}
	warm.c.Close()
	before := fdCount(t, pid)
	beforeList := fdTargets(pid)

	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fds := []int{int(f.Fd()), int(f.Fd()), int(f.Fd()), int(f.Fd())}
	for range 20 {
		rc := e.dial()
		if _, _, err := rc.c.WriteMsgUnix([]byte(req("read", "svc", "k")+"\n"), unix.UnixRights(fds...), nil); err != nil {
			t.Fatal(err)
		}
		if got := rc.recv(); got != "EOF" {
			t.Fatalf("request with passed descriptors got %s; want the connection closed", got)
		}
		rc.c.Close()
	}
	var after int
	if !waitFor(recvTimeout, func() bool { after = fdCount(t, pid); return after <= before }) {
		t.Errorf("daemon has %d descriptors after 80 were passed to it; want %d as before.\nbefore:\n%s\nafter:\n%s", after, before, beforeList, fdTargets(pid))
	}
}
