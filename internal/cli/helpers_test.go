package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// result is the outcome of one in-process command.
type result struct {
	code   int
	stdout string
	stderr string
}

// runCLI runs keychain-auth with args in this process. env is the only
// environment the command sees through App.Env; stdin is empty unless given.
func runCLI(t *testing.T, env map[string]string, stdin io.Reader, args ...string) result {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errb bytes.Buffer
	app := &App{
		Stdin:  stdin,
		Stdout: &out,
		Stderr: &errb,
		Env:    func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}
	code := Run(app, args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// isolate points HOME and the XDG variables of this process at a temp dir,
// because paths.Current reads the process environment.
func isolate(t *testing.T) (dir string, env map[string]string) {
	t.Helper()
	dir = t.TempDir()
	env = map[string]string{
		"HOME":            filepath.Join(dir, "home"),
		"XDG_CONFIG_HOME": filepath.Join(dir, "home", ".config"),
		"XDG_DATA_HOME":   filepath.Join(dir, "home", ".local", "share"),
		"XDG_RUNTIME_DIR": filepath.Join(dir, "run"),
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	for _, k := range []string{"KEYCHAIN_AUTH_SOCKET", "KEYCHAIN_AUTH_CONFIG_DIR", "KEYCHAIN_AUTH_DATA_DIR"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	return dir, env
}

// fakeTools creates stand-ins for the named programs in a new directory
// and returns it and the log file they append "name args..." lines to. A
// stand-in exits with status 1 after printing a message when the file
// <dir>/<name>.fail exists.
func fakeTools(t *testing.T, names ...string) (binDir, logFile string) {
	t.Helper()
	binDir = filepath.Join(t.TempDir(), "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	logFile = filepath.Join(binDir, "calls.log")
	for _, name := range names {
		script := `#!/bin/sh
echo "` + name + ` $*" >> '` + logFile + `'
if [ -e '` + filepath.Join(binDir, name+".fail") + `' ]; then
  echo "` + name + `: simulated failure" >&2
  exit 1
fi
`
		if err := os.WriteFile(filepath.Join(binDir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return binDir, logFile
}

// readCalls returns the lines the stand-ins logged.
func readCalls(t *testing.T, logFile string) []string {
	t.Helper()
	data, err := os.ReadFile(logFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(data), "\n"), "\n")
}

// fakeExecutable writes an executable file standing in for keychain-auth.
func fakeExecutable(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}
