//go:build linux

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const internalError = `{"type":"RESPONSE","status":"error","reason":"internal_error"}`

// mountTmpfs mounts a tmpfs of size bytes at dir, or skips the test when
// this process may not mount (it needs root or CAP_SYS_ADMIN). The unmount
// is registered first so that it runs after the daemon has stopped.
func mountTmpfs(t *testing.T, dir string, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// fillDisk writes to a new file in dir until the file system is full.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			return p
		}
	}
}

// TestFullDiskThenRecovers fills the file system holding the vault and
// the audit log: requests fail with internal_error, nothing stored before
// is lost or corrupted, and service resumes once space is freed, also
// across a restart.
func TestFullDiskThenRecovers(t *testing.T) {
	e := newEnv(t)
	dataDir := filepath.Join(e.configDir, "data")
	mountTmpfs(t, dataDir, "4m")
	e.start()
	client := e.registerClient("diskfull", "--read", "svc", "--write", "svc")

	write := func(target, value string) string {
		return `{"type":"REQUEST","action":"write","service":"svc","targets":["` + target + `"],"values":["` + value + `"]}`
	}
	if got := e.run(client, []string{write("before", "kept")}); len(got) != 1 || got[0] != okEmpty {
		t.Fatalf("write before the disk is full got %q", got)
	}

	filler := fillDisk(t, dataDir)
	big := strings.Repeat("z", 256<<10)
	got := e.run(client, []string{write("during", big), req("read", "svc", "before")})
	if len(got) != 2 || got[0] != internalError {
		t.Fatalf("write on a full disk got %q; want %s first", got, internalError)
	}
	// A read needs an audit record too; on a full disk it may be refused.
	if got[1] != internalError && got[1] != `{"type":"RESPONSE","status":"success","results":[{"target":"before","value":"kept"}]}` {
		t.Errorf("read on a full disk got %s", got[1])
	}
	e.checkAlive()

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	got = e.run(client, []string{write("after", "resumed"), req("read", "svc", "before", "during", "after")})
	want := []string{okEmpty, `{"type":"RESPONSE","status":"success","results":[{"target":"before","value":"kept"},{"target":"after","value":"resumed"}]}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after freeing space got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	fullDiskLog := e.stderr.String()
	for line := range strings.SplitSeq(fullDiskLog, "\n") {
		if strings.Contains(line, "no space left") {
			t.Logf("daemon: %s", line)
		}
	}
	e.stop()
	e.start()
	if got := e.run(client, []string{req("read", "svc", "before", "during", "after")}); len(got) != 1 || got[0] != want[1] {
		t.Errorf("after a restart got %q; want %s", got, want[1])
	}
	out, errOut, code := e.cli("audit", "verify")
	t.Logf("audit verify after the full disk: exit %d\n%s%s", code, out, errOut)
	if code != 0 {
		t.Errorf("audit verify exited %d after a full disk:\n%s%s", code, out, errOut)
	}
	if !strings.Contains(fullDiskLog, "no space left on device") {
		t.Errorf("daemon log does not name the cause (no space left on device):\n%s", fullDiskLog)
	}
}

// TestReadOnlyDataDirectory makes the data directory's file system read
// only: the daemon refuses to start with an error naming the problem
// rather than serving without its vault or audit log, and starts with
// every secret intact once the file system is writable again.
func TestReadOnlyDataDirectory(t *testing.T) {
	e := newEnv(t)
	dataDir := filepath.Join(e.configDir, "data")
	mountTmpfs(t, dataDir, "4m")
	e.start()
	client := e.registerClient("readonly", "--read", "svc", "--write", "svc")
	if got := e.run(client, []string{`{"type":"REQUEST","action":"write","service":"svc","targets":["k"],"values":["v"]}`}); len(got) != 1 || got[0] != okEmpty {
		t.Fatalf("write got %q", got)
	}
	e.stop()

	remount := func(opt string) {
		t.Helper()
		if out, err := exec.Command("mount", "-o", "remount,"+opt, dataDir).CombinedOutput(); err != nil {
			t.Fatalf("remount %s %s: %v: %s", opt, dataDir, err, out)
		}
	}
	remount("ro")
	cmd := exec.Command(daemonBin, append(e.globalArgs(), "start")...)
	cmd.Env = e.environ()
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Errorf("start on a read-only data directory: %v; want exit status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "read-only file system") {
		t.Errorf("start on a read-only data directory does not say why:\n%s", out)
	}
	t.Logf("start on a read-only data directory:\n%s", out)

	remount("rw")
	e.start()
	if got := e.run(client, []string{req("read", "svc", "k")}); len(got) != 1 || got[0] != `{"type":"RESPONSE","status":"success","results":[{"target":"k","value":"v"}]}` {
		t.Errorf("read after the file system is writable again got %q", got)
	}
}

// TestInvalidConfigKeepsLastGood edits config.json into invalid JSON while
// the daemon runs: the last valid policy keeps serving, the error is
// logged, and a valid edit takes effect again.
func TestInvalidConfigKeepsLastGood(t *testing.T) {
	e := newEnv(t)
	e.start()
	client := e.registerClient("steady", "--read", "svc")
	s := e.open(client)
	read := req("read", "svc", "k")
	if got := s.do(read); got != okEmpty {
		t.Fatalf("before the edit: %s", got)
	}

	cfgPath := filepath.Join(e.configDir, "config.json")
	good, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, broken := range []string{`{"registered_binaries": [`, `not json at all`, ``, `{"registered_binaries": "wrong type"}`} {
		if err := os.WriteFile(cfgPath, []byte(broken), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := s.do(read); got != okEmpty {
			t.Errorf("open connection with config %q: %s; want the last valid policy (%s)", broken, got, okEmpty)
		}
		if got := e.run(client, []string{read}); len(got) != 1 || got[0] != okEmpty {
			t.Errorf("new connection with config %q: %q; want the last valid policy", broken, got)
		}
	}
	if n := strings.Count(e.stderr.String(), "config reload failed, keeping the last valid config"); n < 3 {
		t.Errorf("daemon logged the reload failure %d times; want one per broken edit\n%s", n, e.stderr.String())
	}

	// A valid edit that revokes the right takes effect.
	if err := os.WriteFile(cfgPath, good, 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustCLI("revoke", client, "--read", "svc")
	if got := s.do(read); got != deniedSvc {
		t.Errorf("after a valid revoke: %s; want %s", got, deniedSvc)
	}
	e.checkAlive()
}
