package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompletionScripts(t *testing.T) {
	tests := []struct {
		shell string
		want  string
	}{
		{shell: "bash", want: "complete -o default -F __start_keychain-auth keychain-auth"},
		{shell: "zsh", want: "#compdef keychain-auth"},
		{shell: "fish", want: "complete -c keychain-auth"},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			res := runCLI(t, nil, nil, "completion", tt.shell)
			if res.code != 0 {
				t.Fatalf("completion %s exited %d; stderr: %s", tt.shell, res.code, res.stderr)
			}
			if !strings.Contains(res.stdout, tt.want) {
				t.Errorf("completion %s output lacks %q", tt.shell, tt.want)
			}
		})
	}
}

func TestCompletionUnknownShell(t *testing.T) {
	res := runCLI(t, nil, nil, "completion", "tcsh")
	if res.code != 2 {
		t.Errorf("completion tcsh exited %d; want 2 (stderr %q)", res.code, res.stderr)
	}
}

func TestCompletionOffersCommands(t *testing.T) {
	// The scripts call the hidden __complete command, so its answers are
	// what a user sees after pressing Tab.
	res := runCLI(t, nil, nil, "__complete", "ins")
	if res.code != 0 || !strings.Contains(res.stdout, "install\t") {
		t.Errorf("__complete ins = exit %d, %q; want install offered", res.code, res.stdout)
	}
	res = runCLI(t, nil, nil, "__complete", "completion", "")
	for _, shell := range []string{"bash", "zsh", "fish"} {
		if !strings.Contains(res.stdout, shell+"\n") {
			t.Errorf("__complete completion lacks %q:\n%s", shell, res.stdout)
		}
	}
}

func TestManPages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man1")
	res := runCLI(t, nil, nil, "man", dir)
	if res.code != 0 {
		t.Fatalf("man exited %d; stderr: %s", res.code, res.stderr)
	}
	for _, name := range []string{"keychain-auth.1", "keychain-auth-install.1", "keychain-auth-approve.1", "keychain-auth-audit-verify.1"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("man page %s: %v", name, err)
			continue
		}
		if !strings.HasPrefix(string(data), ".nh") && !strings.Contains(string(data), ".TH ") {
			t.Errorf("%s is not a roff man page:\n%.200s", name, data)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "keychain-auth-install.1"))
	if !strings.Contains(string(data), "dry-run") {
		t.Errorf("install man page does not document --dry-run")
	}
}
