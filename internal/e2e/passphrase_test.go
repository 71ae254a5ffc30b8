//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestPassphraseVault(t *testing.T) {
	e := newEnv(t)
	pass := filepath.Join(e.dir, "passphrase")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.start("--passphrase-file", pass)
	client := e.registerClient("pp", "--read", "svc", "--write", "svc")
	write := `{"type":"REQUEST","action":"write","service":"svc","targets":["k"],"values":["v"]}`
	if got := e.run(client, []string{write}); len(got) != 1 || got[0] != okEmpty {
		t.Fatalf("write = %q", got)
	}
	if out := e.mustCLI("status"); !strings.Contains(out, "Key source:    passphrase") {
		t.Errorf("status does not report the passphrase key source:\n%s", out)
	}
	e.stop()

	wrong := filepath.Join(e.dir, "wrong")
	if err := os.WriteFile(wrong, []byte("not it\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemonBin, append(e.globalArgs(), "start", "--passphrase-file", wrong)...)
	cmd.Env = e.environ()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "passphrase") {
		t.Errorf("start with a wrong passphrase: %v\n%s\nwant a failure that mentions the passphrase", err, out)
	}

	// The passphrase file may also be named by an environment variable.
	e.extraEnv = []string{"KEYCHAIN_AUTH_PASSPHRASE_FILE=" + pass}
	e.start()
	want := `{"type":"RESPONSE","status":"success","results":[{"target":"k","value":"v"}]}`
	if got := e.run(client, []string{req("read", "svc", "k")}); len(got) != 1 || got[0] != want {
		t.Errorf("read after restart = %q; want %s", got, want)
	}
}
