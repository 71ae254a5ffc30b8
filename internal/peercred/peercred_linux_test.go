package peercred

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseStartTime(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want uint64
		ok   bool
	}{
		{name: "plain", stat: "42 (sh) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 0 0", want: 987654, ok: true},
		{name: "name with spaces and parens", stat: "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 123 0 0", want: 123, ok: true},
		{name: "truncated", stat: "42 (sh) S 1 42", ok: false},
		{name: "no command", stat: "42 sh S", ok: false},
		{name: "not a number", stat: "42 (sh) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 x 0 0", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStartTime([]byte(tt.stat))
			if (err == nil) != tt.ok {
				t.Fatalf("parseStartTime(%q) error = %v; want ok=%v", tt.stat, err, tt.ok)
			}
			if got != tt.want {
				t.Errorf("parseStartTime(%q) = %d; want %d", tt.stat, got, tt.want)
			}
		})
	}
}

func TestGetOwnConnection(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- nil
			return
		}
		done <- c
	}()
	client, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-done
	if server == nil {
		t.Fatal("accept failed")
	}
	defer server.Close()

	cred, err := Get(server)
	if err != nil {
		t.Fatalf("Get = %v", err)
	}
	defer cred.Close()
	if cred.PID != os.Getpid() {
		t.Errorf("PID = %d; want %d", cred.PID, os.Getpid())
	}
	if cred.UID != uint32(os.Getuid()) {
		t.Errorf("UID = %d; want %d", cred.UID, os.Getuid())
	}
	if err := cred.Verify(); err != nil {
		t.Errorf("Verify() = %v; want nil for a live process", err)
	}
}

func TestVerifyStartTimeFallback(t *testing.T) {
	start, err := StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	c := &Cred{PID: os.Getpid(), pin: pin{pidfd: -1, startTime: start}}
	if err := c.Verify(); err != nil {
		t.Errorf("Verify() with the right start time = %v; want nil", err)
	}
	c.pin.startTime++
	if err := c.Verify(); err != ErrProcessGone {
		t.Errorf("Verify() with another start time = %v; want ErrProcessGone", err)
	}
}

func TestVerifyPidfdOfExitedProcess(t *testing.T) {
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	pidfd, err := unix.PidfdOpen(child.Process.Pid, 0)
	if err != nil {
		child.Process.Kill()
		child.Wait()
		t.Skipf("pidfd_open is not available: %v", err)
	}
	c := &Cred{PID: child.Process.Pid, pin: pin{pidfd: pidfd}}
	defer c.Close()
	if err := c.Verify(); err != nil {
		t.Errorf("Verify() of a running process = %v; want nil", err)
	}
	child.Process.Kill()
	child.Wait()
	if err := c.Verify(); err != ErrProcessGone {
		t.Errorf("Verify() after the process exited = %v; want ErrProcessGone", err)
	}
}
