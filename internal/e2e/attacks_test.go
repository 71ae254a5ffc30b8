//go:build linux

package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const secretRead = `{"type":"RESPONSE","status":"success","results":[{"target":"k","value":"s3cret"}]}`

// storeSecret writes k=s3cret in service svc through a separate writer.
func (e *env) storeSecret() {
	e.t.Helper()
	w := e.registerClient("secret-writer", "--write", "svc")
	if got := e.run(w, []string{`{"type":"REQUEST","action":"write","service":"svc","targets":["k"],"values":["s3cret"]}`}); len(got) != 1 || got[0] != okEmpty {
		e.t.Fatalf("storing the secret got %q", got)
	}
}

// pendingEntries returns the daemon's pending queue.
func (e *env) pendingEntries() []struct {
	Hash    string   `json:"hash"`
	Path    string   `json:"path"`
	CLIArgs []string `json:"cli_args"`
} {
	e.t.Helper()
	var entries []struct {
		Hash    string   `json:"hash"`
		Path    string   `json:"path"`
		CLIArgs []string `json:"cli_args"`
	}
	if err := json.Unmarshal([]byte(e.mustCLI("list-pending", "--json")), &entries); err != nil {
		e.t.Fatal(err)
	}
	return entries
}

func TestAttackCopiedBinary(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.storeSecret()
	registered := e.registerClient("tool", "--read", "svc")
	if got := e.run(registered, []string{req("read", "svc", "k")}); len(got) != 1 || got[0] != secretRead {
		t.Fatalf("registered binary got %q; want the secret", got)
	}
	copied := e.copyBinary(registered, "tool-copy")
	if got := e.run(copied, []string{req("read", "svc", "k")}); len(got) < 1 || got[0] != deniedPend {
		t.Errorf("byte-identical copy at another path got %q; want %s", got, deniedPend)
	}
}

func TestAttackModifiedBinary(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.storeSecret()
	p := e.registerClient("tool", "--read", "svc")
	rebuild(t, p, "evil")
	if got := e.run(p, []string{req("read", "svc", "k")}); len(got) < 1 || got[0] != deniedPend {
		t.Errorf("modified binary at the registered path got %q; want %s", got, deniedPend)
	}
}

func TestAttackSymlinkSwapped(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.storeSecret()
	good := e.copyClient("good")
	link := filepath.Join(e.dir, "bin", "tool")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	e.mustCLI("register", link)
	e.mustCLI("grant", link, "--read", "svc")
	if got := e.run(link, []string{req("read", "svc", "k")}); len(got) != 1 || got[0] != secretRead {
		t.Fatalf("through the symlink before the swap got %q; want the secret", got)
	}

	// Point the link at another program; the registration named the
	// canonical target, not the link.
	evil := e.copyClient("evil")
	rebuild(t, evil, "evil")
	tmp := link + ".new"
	if err := os.Symlink(evil, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
	if got := e.run(link, []string{req("read", "svc", "k")}); len(got) < 1 || got[0] != deniedPend {
		t.Errorf("through the swapped symlink got %q; want %s", got, deniedPend)
	}
	entries := e.pendingEntries()
	if len(entries) != 1 || entries[0].Path != evil {
		t.Errorf("pending queue = %+v; want one entry for %s", entries, evil)
	}
}

// TestAttackBinaryReplacedWhileRunning replaces the registered file while
// processes started from it still run. A connection opened before keeps
// its identity, because that process runs the registered bytes. A
// connection opened after, even by an old process, is denied, because the
// kernel reports the old file as deleted.
func TestAttackBinaryReplacedWhileRunning(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.storeSecret()
	p := e.copyBinary(probeBinary(t), "tool")
	e.mustCLI("register", p)
	e.mustCLI("grant", p, "--read", "svc")
	client := e.registerClient("kaclient-tool", "--read", "svc")

	connected := e.open(client)
	if got := connected.do(req("read", "svc", "k")); got != secretRead {
		t.Fatalf("before the replacement: %s", got)
	}

	late := exec.Command(p, "late", "-socket", e.socket, "-line", req("read", "svc", "k"))
	late.Env = e.environ()
	lateIn, err := late.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	lateOut, err := late.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := late.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lateIn.Close(); late.Wait() })

	// Replace both files the way package managers do: write a new file
	// and rename it over the old one.
	for _, path := range []string{p, client} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, []byte("new build")...)
		if err := os.WriteFile(path+".new", data, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}

	if got := connected.do(req("read", "svc", "k")); got != secretRead {
		t.Errorf("connection opened before the replacement: %s; want the secret (identity is fixed per connection)", got)
	}
	lateIn.Write([]byte("go\n"))
	got, _ := bufio.NewReader(lateOut).ReadString('\n')
	if strings.TrimSpace(got) != deniedPend {
		t.Errorf("old process connecting after the replacement got %q; want %s", got, deniedPend)
	}
	if got := e.run(client, []string{req("read", "svc", "k")}); len(got) < 1 || got[0] != deniedPend {
		t.Errorf("new binary at the registered path got %q; want %s", got, deniedPend)
	}
	var deleted bool
	for _, en := range e.pendingEntries() {
		if en.Path == p+" (deleted)" {
			deleted = true
		}
	}
	if !deleted {
		t.Errorf("pending queue has no entry for %q: %+v", p+" (deleted)", e.pendingEntries())
	}
}

// TestAttackInheritedConnection has an authorized process hand its
// connection to an unregistered program. With close-on-exec, which Go's
// net package and this project's clients set, the program never gets the
// descriptor. A client that clears FD_CLOEXEC on purpose still cannot lend
// its identity. A forked child's request is closed because the kernel tags
// it with the child's PID. A program exec'd in place is denied because it
// no longer runs the executable that connected.
func TestAttackInheritedConnection(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.storeSecret()
	parent := e.copyBinary(probeBinary(t), "parent")
	e.mustCLI("register", parent)
	e.mustCLI("grant", parent, "--read", "svc")
	stranger := e.copyBinary(probeBinary(t), "stranger")

	tests := []struct {
		name      string
		flags     []string
		wantChild string
	}{
		{name: "fork and exec, close-on-exec", wantChild: "child: no-fd"},
		{name: "exec in place, close-on-exec", flags: []string{"-in-place"}, wantChild: "child: no-fd"},
		{name: "fork and exec, FD_CLOEXEC cleared", flags: []string{"-keep-fd"}, wantChild: "child: EOF"},
		{name: "exec in place, FD_CLOEXEC cleared", flags: []string{"-keep-fd", "-in-place"}, wantChild: "child: " + deniedPend},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"inherit", "-socket", e.socket, "-exec", stranger, "-line", req("read", "svc", "k")}, tt.flags...)
			cmd := exec.Command(parent, args...)
			cmd.Env = e.environ()
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("kaprobe inherit: %v\n%s", err, out)
			}
			lines := splitLines(string(out))
			want := []string{"parent: " + secretRead, "parent: cloexec=true", tt.wantChild}
			if strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Errorf("output:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
			}
		})
	}
}

// TestAttackOtherUID runs a registered client as nobody. The 0700 socket
// directory keeps it from connecting at all; with the directory and socket
// opened up, the daemon itself rejects the other UID.
func TestAttackOtherUID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	e := newEnv(t)
	e.start()
	e.storeSecret()
	client := e.registerClient("shared-tool", "--read", "svc")
	// Let nobody reach and run the client binary.
	for dir := filepath.Dir(client); dir != "/" && dir != os.TempDir(); dir = filepath.Dir(dir) {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runAsNobody := func() (string, error) {
		cmd := exec.Command(client, "-socket", e.socket)
		cmd.Env = e.environ()
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		cmd.Stdin = strings.NewReader(req("read", "svc", "k") + "\n")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := runAsNobody()
	if err == nil || !strings.Contains(out, "permission denied") {
		t.Errorf("nobody connecting through the 0700 directory: %v\n%s; want permission denied", err, out)
	}

	// An administrator mistake (or a root attacker) opens the socket up.
	if err := os.Chmod(filepath.Dir(e.socket), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(e.socket, 0o666); err != nil {
		t.Fatal(err)
	}
	out, _ = runAsNobody()
	if strings.Contains(out, "s3cret") || !strings.Contains(out, "EOF") {
		t.Errorf("nobody through the opened socket got:\n%s\nwant the connection closed without a response", out)
	}
	if !strings.Contains(e.stderr.String(), "connection rejected: peer runs as another user") || !strings.Contains(e.stderr.String(), "uid=65534") {
		t.Errorf("daemon did not log the UID rejection:\n%s", e.stderr.String())
	}
	auditOut := e.mustCLI("audit")
	if !strings.Contains(auditOut, "uid_mismatch") {
		t.Errorf("audit log has no uid_mismatch record:\n%s", auditOut)
	}
}

// TestAttackOversizeBinary starts the daemon with a size limit below the
// client's size: the client is not hashed and its connection is closed.
func TestAttackOversizeBinary(t *testing.T) {
	e := newEnv(t)
	fi, err := os.Stat(clientBin)
	if err != nil {
		t.Fatal(err)
	}
	e.start("--max-binary-size", "1048576")
	if fi.Size() <= 1<<20 {
		t.Fatalf("client binary is %d bytes; the test needs one above 1 MiB", fi.Size())
	}
	client := e.registerClient("big-tool", "--read", "svc")
	got := e.run(client, nil, "-read-first")
	if len(got) != 1 || got[0] != "EOF" {
		t.Errorf("client of %d bytes with a 1 MiB limit got %q; want the connection closed", fi.Size(), got)
	}
	if !strings.Contains(e.stderr.String(), "executable exceeds the size limit") {
		t.Errorf("daemon did not log the size limit:\n%s", e.stderr.String())
	}
	if entries := e.pendingEntries(); len(entries) != 0 {
		t.Errorf("oversize binary was queued for approval: %+v", entries)
	}
}

// TestAttackRewrittenArgv has an unregistered process overwrite its own
// argument memory before connecting. The pending queue shows the forged
// command line, which is why it is informational only. The path and hash
// still come from the kernel and the file.
func TestAttackRewrittenArgv(t *testing.T) {
	e := newEnv(t)
	e.start()
	p := e.copyBinary(probeBinary(t), "disguised")
	const fake = "/usr/bin/innocent --harmless"
	cmd := exec.Command(p, "argv", "-socket", e.socket, "-fake", fake)
	cmd.Env = e.environ()
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != deniedPend {
		t.Fatalf("kaprobe argv: %v\n%s", err, out)
	}
	entries := e.pendingEntries()
	if len(entries) != 1 {
		t.Fatalf("pending queue has %d entries; want 1", len(entries))
	}
	_, wantHash, err := hashOf(p)
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].Path != p || entries[0].Hash != wantHash {
		t.Errorf("pending entry path, hash = %q, %q; want %q, %q", entries[0].Path, entries[0].Hash, p, wantHash)
	}
	if strings.Join(entries[0].CLIArgs, " ") != fake {
		t.Errorf("pending entry command line = %q; want the forged %q", entries[0].CLIArgs, fake)
	}
}

// hashOf returns the path and the "sha256:" hash of the file at p, as
// register records them.
func hashOf(p string) (string, string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(data)
	return p, "sha256:" + hex.EncodeToString(sum[:]), nil
}
