package peercred

import (
	"bufio"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestHelperClient is not a test: TestVerifyAfterPIDReuse runs the test
// binary with PEERCRED_HELPER_SOCKET set to make it a client process that
// connects and waits to be killed.
func TestHelperClient(t *testing.T) {
	sock := os.Getenv("PEERCRED_HELPER_SOCKET")
	if sock == "" {
		t.Skip("helper process only")
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		os.Exit(2)
	}
	os.Stdout.WriteString("connected\n")
	var buf [1]byte
	c.Read(buf[:])
	os.Exit(0)
}

// TestVerifyAfterPIDReuse connects from a child process, lets the child
// exit, then (as root) steers the kernel into giving its PID to a new
// process through /proc/sys/kernel/ns_last_pid. Verify must report the
// original process gone both before and after the PID is reused.
func TestVerifyAfterPIDReuse(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	child := exec.Command(os.Args[0], "-test.run=^TestHelperClient$")
	child.Env = append(os.Environ(), "PEERCRED_HELPER_SOCKET="+sock)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "connected\n" {
		t.Fatalf("helper printed %q", line)
	}
	cred, err := Get(server)
	if err != nil {
		t.Fatal(err)
	}
	defer cred.Close()
	if cred.PID != child.Process.Pid {
		t.Fatalf("Get().PID = %d; want the child's %d", cred.PID, child.Process.Pid)
	}
	if err := cred.Verify(); err != nil {
		t.Fatalf("Verify() on the live child = %v; want nil", err)
	}

	child.Process.Kill()
	child.Wait()
	if err := cred.Verify(); !errors.Is(err, ErrProcessGone) {
		t.Errorf("Verify() after the child exited = %v; want ErrProcessGone", err)
	}

	// Writing ns_last_pid needs CAP_SYS_ADMIN; other processes on the
	// machine may take the PID first, so try a few times.
	reused := false
	for range 20 {
		if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(cred.PID-1)), 0); err != nil {
			t.Logf("cannot arrange PID reuse (%v); checked the exited process only", err)
			break
		}
		next := exec.Command("sleep", "30")
		if err := next.Start(); err != nil {
			t.Fatal(err)
		}
		if next.Process.Pid != cred.PID {
			next.Process.Kill()
			next.Wait()
			continue
		}
		reused = true
		if err := cred.Verify(); !errors.Is(err, ErrProcessGone) {
			t.Errorf("Verify() with PID %d reused by another process = %v; want ErrProcessGone", cred.PID, err)
		}
		next.Process.Kill()
		next.Wait()
		break
	}
	t.Logf("PID %d reused by a new process: %v", cred.PID, reused)
}
