//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package client_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCloseOnExec runs a program that dials the fake daemon and then execs
// itself as a child that scans every descriptor for a socket connected to
// the daemon. With the client the child must find none; with a socket
// created without close-on-exec it must find one. The race mode forks
// children while other goroutines dial, which is where a flag set after
// socket(2) instead of in it would leak. NOTE: that window is microseconds
// wide, so the race mode catches a non-atomic flag with high probability,
// not certainty; TestNewSocketCloseOnExec checks the flag itself.
func TestCloseOnExec(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cloexec")
	build := exec.Command(goTool(t), "build", "-o", bin, "./testdata/cloexec")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/cloexec: %v\n%s", err, out)
	}
	srv := startServer(t, echoHandler())

	tests := []struct {
		mode string
		want string
	}{
		{mode: "client", want: "connected descriptors: 0"},
		{mode: "leaky", want: "connected descriptors: 1"},
		{mode: "race", want: "connected descriptors: 0"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			out, err := exec.Command(bin, tt.mode, srv.path).CombinedOutput()
			if err != nil {
				t.Fatalf("cloexec %s: %v\n%s", tt.mode, err, out)
			}
			if got := strings.TrimSpace(string(out)); got != tt.want {
				t.Errorf("cloexec %s printed %q; want %q", tt.mode, got, tt.want)
			}
		})
	}
}
