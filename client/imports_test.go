package client_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/keychain-auth/keychain-auth"

// goTool returns the go command that runs this test, so the test binary
// and anything it builds use the same toolchain.
func goTool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	return path
}

func TestNoInternalImports(t *testing.T) {
	goCmd := goTool(t)
	for _, goos := range []string{"linux", "darwin", "windows"} {
		t.Run(goos, func(t *testing.T) {
			cmd := exec.Command(goCmd, "list", "-deps", "-f", "{{.ImportPath}}", ".", "../examples/go-client")
			cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
			out, err := cmd.Output()
			if err != nil {
				var exitErr *exec.ExitError
				if errors.As(err, &exitErr) {
					t.Fatalf("go list -deps: %v\n%s", err, exitErr.Stderr)
				}
				t.Fatalf("go list -deps: %v", err)
			}

			deps := strings.Fields(string(out))
			seen := map[string]bool{}
			for _, dep := range deps {
				seen[dep] = true
				if dep == module+"/internal" || strings.HasPrefix(dep, module+"/internal/") {
					t.Errorf("client depends on %q; the public client must not import internal packages", dep)
				}
			}
			for _, want := range []string{module + "/client", module + "/protocol", module + "/paths"} {
				if !seen[want] {
					t.Errorf("go list -deps output lacks %q; the check is not listing what it should", want)
				}
			}
		})
	}
}
