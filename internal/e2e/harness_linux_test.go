//go:build linux

package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// recvTimeout bounds every read of the raw connections below. It only
// keeps a hung daemon from hanging the test run: a response that arrives
// at all arrives in milliseconds, and a timeout is reported as a failure.
const recvTimeout = 60 * time.Second

var (
	probeOnce sync.Once
	probeBin  string
	probeErr  error
)

// probeBinary builds the kaprobe attack client once, next to the binaries
// TestMain built, so TestMain's clean-up removes it.
func probeBinary(t testing.TB) string {
	t.Helper()
	probeOnce.Do(func() {
		probeBin = filepath.Join(filepath.Dir(clientBin), "kaprobe")
		cmd := exec.Command("go", "build", "-o", probeBin, "github.com/keychain-auth/keychain-auth/internal/e2e/kaprobe")
		out, err := cmd.CombinedOutput()
		if err != nil {
			probeErr = fmt.Errorf("build kaprobe: %v\n%s", err, out)
		}
	})
	if probeErr != nil {
		t.Fatal(probeErr)
	}
	return probeBin
}

// copyBinary copies src to bin/name in the env.
func (e *env) copyBinary(src, name string) string {
	e.t.Helper()
	data, err := os.ReadFile(src)
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

// registerSelf registers the test binary itself, so a test can open raw
// connections from its own process with full control over the bytes.
func (e *env) registerSelf(grantArgs ...string) {
	e.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		e.t.Fatal(err)
	}
	e.mustCLI("register", exe)
	if len(grantArgs) > 0 {
		e.mustCLI(append([]string{"grant", exe}, grantArgs...)...)
	}
}

// rawConn is a connection from the test process to the daemon.
type rawConn struct {
	t testing.TB
	c *net.UnixConn
	r *bufio.Reader
}

func (e *env) dial() *rawConn {
	e.t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: e.socket, Net: "unix"})
	if err != nil {
		e.t.Fatalf("dial %s: %v", e.socket, err)
	}
	e.t.Cleanup(func() { c.Close() })
	return &rawConn{t: e.t, c: c, r: bufio.NewReaderSize(c, 2<<20)}
}

// send writes line and a newline. Write errors are returned, not fatal:
// the daemon may have closed the connection on purpose.
func (rc *rawConn) send(line string) error {
	rc.c.SetWriteDeadline(time.Now().Add(recvTimeout))
	_, err := io.WriteString(rc.c, line+"\n")
	return err
}

// recv returns the next response line without its newline, or "EOF" when
// the daemon closed the connection. A close while the test still had bytes
// in flight shows as a connection reset, which also counts as closed.
func (rc *rawConn) recv() string {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(recvTimeout))
	line, err := rc.r.ReadString('\n')
	switch {
	case err == nil:
		return strings.TrimSuffix(line, "\n")
	case errors.Is(err, io.EOF) && line == "", errors.Is(err, syscall.ECONNRESET) && line == "":
		return "EOF"
	case errors.Is(err, os.ErrDeadlineExceeded):
		rc.t.Fatalf("no response within %v: the daemon hangs", recvTimeout)
	}
	rc.t.Fatalf("read response: %q, %v", line, err)
	return ""
}

func (e *env) daemonPID() int {
	e.t.Helper()
	if e.daemon == nil {
		e.t.Fatal("daemon is not running")
	}
	return e.daemon.Process.Pid
}

// procStatus returns a numeric field of /proc/<pid>/status, such as
// "VmRSS" (in KiB) or "Threads".
func procStatus(t testing.TB, pid int, field string) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		n, err := strconv.ParseInt(strings.Fields(value)[0], 10, 64)
		if err != nil {
			t.Fatalf("parse %s of pid %d: %v", field, pid, err)
		}
		return n
	}
	t.Fatalf("/proc/%d/status has no %s field", pid, field)
	return 0
}

// fdCount returns the number of open file descriptors of pid.
func fdCount(t testing.TB, pid int) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// fdTargets lists what the descriptors of pid point to, for failure messages.
func fdTargets(pid int) string {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	entries, _ := os.ReadDir(dir)
	var b strings.Builder
	for _, en := range entries {
		target, _ := os.Readlink(filepath.Join(dir, en.Name()))
		fmt.Fprintf(&b, "%s -> %s\n", en.Name(), target)
	}
	return b.String()
}

// waitFor polls cond every 20 ms until it holds or limit passes, and
// reports whether it held. Used only where the daemon finishes work
// asynchronously (closing connections), never to time the daemon.
func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// checkAlive fails the test if the daemon has exited.
func (e *env) checkAlive() {
	e.t.Helper()
	select {
	case err := <-e.exited:
		e.exited <- err
		e.t.Fatalf("daemon exited: %v\nstderr:\n%s", err, e.stderr.String())
	default:
	}
}
