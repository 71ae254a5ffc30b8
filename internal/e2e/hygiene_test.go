//go:build linux

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCanaryThroughEveryAction passes a canary secret value through every
// action and every rejection path. It then searches for the canary in the
// daemon's debug log, every file the daemon wrote (the vault must hold it
// only encrypted), CLI output and errors, and the process list.
func TestCanaryThroughEveryAction(t *testing.T) {
	const canary = "CANARY-9d41e7-value"
	e := newEnv(t)
	e.start("--debug")
	client := e.registerClient("hygiene", "--read", "svc", "--write", "svc", "--search")
	write := func(service, target, value, extra string) string {
		return `{"type":"REQUEST","action":"write","service":"` + service + `","targets":["` + target + `"],"values":["` + value + `"]` + extra + `}`
	}
	lines := []string{
		write("svc", "k1", canary, ""),
		write("svc", "k2", canary, `,"attributes":{"env":"prod"}`),
		req("read", "svc", "k1", "k2"),
		`{"type":"REQUEST","action":"read","service":"svc","match":"prefix","targets":["k"]}`,
		`{"type":"REQUEST","action":"search","service":"svc","targets":["k"]}`,
		write("other", "k1", canary, ""),
		`{"type":"REQUEST","action":"write","service":"svc","targets":["a","b"],"values":["` + canary + `"]}`,
		`{"type":"REQUEST","action":"write","service":"svc","targets":["a"],"values":"` + canary + `"}`,
		`{"type":"REQUEST","action":"write","service":"svc","targets":["a"],"values":["` + canary + `"],"extra":"` + canary + `"}`,
		`{"type":"REQUEST","action":"write","service":"svc","targets":["a"],"values":["` + canary + `\q"]}`,
		`{"type":"REQUEST","action":"write","service":"svc","match":"prefix","targets":["a"],"values":["` + canary + `"]}`,
		write("svc", "k1", canary, "") + " " + canary,
		req("delete", "svc", "k1"),
		`{"type":"REQUEST","action":"delete","service":"svc","match":"prefix","targets":["k"]}`,
	}
	got := e.run(client, lines)
	if len(got) != len(lines) || !strings.Contains(got[2], canary) {
		t.Fatalf("the canary did not round-trip; responses:\n%s", strings.Join(got, "\n"))
	}
	// An oversize line and an unregistered caller carrying the canary.
	e.run(client, []string{write("svc", "huge", canary+strings.Repeat("x", 1<<20), "")})
	e.run(e.copyClient("stranger"), []string{write("svc", "k1", canary, "")})

	outputs := map[string]string{"command lines of all processes": allCommandLines(t)}
	for _, args := range [][]string{{"audit"}, {"audit", "verify"}, {"list-pending"}, {"list"}, {"status", "--json"}, {"check", client}} {
		out, errOut, _ := e.cli(args...)
		outputs["keychain-auth "+strings.Join(args, " ")] = out + errOut
	}
	e.stop()
	outputs["daemon log"] = e.stderr.String()

	files := 0
	filepath.WalkDir(e.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, filepath.Join(e.dir, "bin")) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err == nil {
			outputs[p] = string(data)
			files++
		}
		return nil
	})
	for _, name := range []string{"config.json", "pending.json", "data/audit.log", "data/vault.db"} {
		if _, ok := outputs[filepath.Join(e.configDir, name)]; !ok {
			t.Errorf("%s was not written; the check would be vacuous", name)
		}
	}
	for name, content := range outputs {
		if strings.Contains(content, canary) {
			t.Errorf("the canary appears in %s", name)
		}
	}
	t.Logf("%d requests carried the canary; searched %d files and %d outputs", len(lines)+2, files, len(outputs)-files)
}

// allCommandLines returns /proc/<pid>/cmdline of every process, which is
// what ps shows, without depending on ps being installed.
func allCommandLines(t *testing.T) string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, en := range entries {
		if _, err := strconv.Atoi(en.Name()); err != nil {
			continue
		}
		if data, err := os.ReadFile(filepath.Join("/proc", en.Name(), "cmdline")); err == nil {
			b.Write(bytes.ReplaceAll(data, []byte{0}, []byte{' '}))
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// TestDaemonNotDumpable runs the daemon as an unprivileged user and checks
// that it is non-dumpable. The kernel gives a non-dumpable process's /proc
// files to root and refuses same-user access to its memory and environment.
// This is reliable where reading the dumpable flag is not: prctl only
// reports the caller's own flag, /proc/<pid>/status does not show it, and
// root can open any process anyway, so the probe must be another process
// of the daemon's own user. A dumpable process of that user is the control.
func TestDaemonNotDumpable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the daemon as another user")
	}
	const uid, gid = 65534, 65534
	cred := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}

	// A tree the unprivileged user owns, reachable from /.
	base, err := os.MkdirTemp("", "kca-dumpable-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(base, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, uid, gid); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "keychain-auth")
	data, err := os.ReadFile(daemonBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}

	stderr := &syncBuffer{}
	daemon := exec.Command(bin, "--config-dir", filepath.Join(home, "config"), "--socket", filepath.Join(home, "run", "agent.sock"), "start")
	daemon.Env = []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + filepath.Join(home, "xdg-run"), "XDG_CONFIG_HOME=" + filepath.Join(home, "xdg-config"), "XDG_DATA_HOME=" + filepath.Join(home, "xdg-data"), "PATH=" + os.Getenv("PATH")}
	daemon.Stderr = stderr
	daemon.SysProcAttr = cred
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		daemon.Process.Signal(syscall.SIGTERM)
		daemon.Wait()
	})
	if !waitFor(30*time.Second, func() bool { return strings.Contains(stderr.String(), "listening on") }) {
		t.Fatalf("daemon as uid %d did not start:\n%s", uid, stderr.String())
	}

	control := exec.Command("sleep", "60")
	control.SysProcAttr = cred
	if err := control.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { control.Process.Kill(); control.Wait() })

	owner := func(pid int) uint32 {
		var st syscall.Stat_t
		if err := syscall.Stat("/proc/"+strconv.Itoa(pid)+"/status", &st); err != nil {
			t.Fatal(err)
		}
		return st.Uid
	}
	readAsUser := func(pid int, file string) error {
		cmd := exec.Command("cat", "/proc/"+strconv.Itoa(pid)+"/"+file)
		cmd.SysProcAttr = cred
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = nil, &errb
		if err := cmd.Run(); err != nil {
			return &procReadError{err: err, stderr: errb.String()}
		}
		return nil
	}

	if got := owner(control.Process.Pid); got != uid {
		t.Fatalf("control process /proc files owned by uid %d; want %d (the check below would prove nothing)", got, uid)
	}
	if err := readAsUser(control.Process.Pid, "environ"); err != nil {
		t.Fatalf("uid %d cannot read its own dumpable process's environ: %v (the check below would prove nothing)", uid, err)
	}
	if got := owner(daemon.Process.Pid); got != 0 {
		t.Errorf("daemon /proc files owned by uid %d; want 0, the owner the kernel gives a non-dumpable process", got)
	}
	for _, file := range []string{"environ", "mem", "maps"} {
		if err := readAsUser(daemon.Process.Pid, file); err == nil {
			t.Errorf("uid %d read /proc/<daemon>/%s; want permission denied for a non-dumpable process", uid, file)
		} else {
			t.Logf("uid %d reading /proc/<daemon>/%s: %v", uid, file, err)
		}
	}
}

type procReadError struct {
	err    error
	stderr string
}

func (e *procReadError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.stderr) }
