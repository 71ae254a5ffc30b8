//go:build linux

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestAttackBorrowedIdentity plays an unregistered program that connects,
// forks a child holding the connection, and execs a registered binary in
// its own PID before the daemon identifies it. Every identity check then
// finds the registered binary, but the requests come from the child, so the
// daemon must close the connection instead of responding.
func TestAttackBorrowedIdentity(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.storeSecret()
	sleeper := e.copyBinary("/bin/sleep", "sleeper")
	e.mustCLI("register", sleeper)
	e.mustCLI("grant", sleeper, "--read", "svc")
	borrower := e.copyBinary(probeBinary(t), "borrower")

	// Stopping the daemon holds the connection in the accept queue until
	// the borrower runs the registered binary, which makes the race the
	// attacker would otherwise have to win certain.
	daemon := e.daemonPID()
	if err := syscall.Kill(daemon, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			syscall.Kill(daemon, syscall.SIGCONT)
		}
	}()

	cmd := exec.Command(borrower, "borrow", "-socket", e.socket, "-exec", sleeper, "-line", req("read", "svc", "k"), "-delay", "500ms")
	cmd.Env = e.environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exeLink := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/exe"
	if !waitFor(recvTimeout, func() bool {
		target, err := os.Readlink(exeLink)
		return err == nil && target == sleeper
	}) {
		t.Fatalf("the borrower did not exec the registered binary; output: %s", out.String())
	}
	syscall.Kill(daemon, syscall.SIGCONT)
	resumed = true
	cmd.Wait()

	// The child prints its result after the parent has exited.
	if !waitFor(recvTimeout, func() bool { return strings.Contains(out.String(), "child:") }) {
		t.Fatalf("the child printed nothing; output: %s", out.String())
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Fatalf("a process other than the identified caller read the secret:\n%s", out.String())
	}
	if !strings.Contains(e.stderr.String(), "a process other than the identified caller wrote to it") {
		t.Errorf("daemon log does not record the foreign writer:\n%s", e.stderr.String())
	}
}
