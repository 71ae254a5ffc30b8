package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Environment variables that turn the test binary into an Update child
// process (see TestMain).
const (
	envChildPath  = "KEYCHAIN_AUTH_TEST_UPDATE_PATH"
	envChildName  = "KEYCHAIN_AUTH_TEST_UPDATE_NAME"
	envChildCount = "KEYCHAIN_AUTH_TEST_UPDATE_COUNT"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(envChildPath); path != "" {
		os.Exit(runUpdateChild(path, os.Getenv(envChildName), os.Getenv(envChildCount)))
	}
	os.Exit(m.Run())
}

// runUpdateChild adds count entries named /child/<name>/<i>, one Update each.
func runUpdateChild(path, name, countText string) int {
	count, err := strconv.Atoi(countText)
	if err != nil {
		fmt.Fprintln(os.Stderr, "update child: invalid count:", err)
		return 2
	}
	for i := range count {
		if err := Update(path, addEntry(fmt.Sprintf("/child/%s/%d", name, i))); err != nil {
			fmt.Fprintln(os.Stderr, "update child:", err)
			return 1
		}
	}
	return 0
}

func addEntry(path string) func(*Config) error {
	return func(c *Config) error {
		c.RegisteredBinaries = append(c.RegisteredBinaries, Binary{Path: path, Hash: hashA})
		return nil
	}
}

func checkMode(t *testing.T, path string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != FilePerm {
		t.Errorf("mode of %s = %v; want %v", path, got, os.FileMode(FilePerm))
	}
}

func entryPaths(t *testing.T, path string) map[string]int {
	t.Helper()
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, b := range c.RegisteredBinaries {
		got[b.Path]++
	}
	return got
}

func TestUpdateCreatesFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "keychain-auth")
	path := filepath.Join(dir, "config.json")
	if err := Update(path, addEntry("/bin/a")); err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	checkMode(t, path)
	checkMode(t, path+".lock")
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}

	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{ProtocolVersion: "1", RegisteredBinaries: []Binary{{Path: "/bin/a", Hash: hashA}}}
	if diff := cmp.Diff(want, c, cmpConfig...); diff != "" {
		t.Errorf("config after Update mismatch (-want +got):\n%s", diff)
	}
}

func TestUpdateRestoresMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := Update(path, addEntry(fmt.Sprintf("/bin/%d", i))); err != nil {
			t.Fatalf("Update() error = %v", err)
		}
		checkMode(t, path)
	}
}

func TestUpdateRefusesInvalidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	invalid := []byte(`{"registered_binaries": [], "typo": true}`)
	if err := os.WriteFile(path, invalid, 0o600); err != nil {
		t.Fatal(err)
	}
	called := false
	err := Update(path, func(*Config) error { called = true; return nil })

	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Update() error = %v; want a *ParseError", err)
	}
	if called {
		t.Error("Update called fn for an unreadable file")
	}
	if got, _ := os.ReadFile(path); string(got) != string(invalid) {
		t.Errorf("Update changed the invalid file to %s", got)
	}
}

func TestUpdateKeepsFileOnFnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := Update(path, addEntry("/bin/a")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	errStop := errors.New("stop")
	err := Update(path, func(c *Config) error {
		c.RegisteredBinaries = nil
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Errorf("Update() error = %v; want %v", err, errStop)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("file changed after fn failed:\n%s", after)
	}
}

func TestUpdateRejectsInvalidResult(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	err := Update(path, addEntry("relative/path"))
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Update() error = %v; want a *ParseError", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Update wrote an invalid config (stat error %v)", err)
	}
}

func TestUpdateNormalizesOnWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	upper := "SHA256:" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	if err := os.WriteFile(path, []byte(`{"registered_binaries": [{"path": "/bin/a", "hash": "`+upper+`"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Update(path, func(*Config) error { return nil }); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RegisteredBinaries[0].Hash; got != hashA {
		t.Errorf("hash after Update = %q; want %q", got, hashA)
	}
}

func TestUpdateConcurrentGoroutines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	const workers, perWorker = 8, 10

	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				errs <- Update(path, addEntry(fmt.Sprintf("/goroutine/%d/%d", w, i)))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Update() error = %v", err)
		}
	}

	got := entryPaths(t, path)
	if len(got) != workers*perWorker {
		t.Errorf("config has %d distinct entries; want %d", len(got), workers*perWorker)
	}
	for w := range workers {
		for i := range perWorker {
			if p := fmt.Sprintf("/goroutine/%d/%d", w, i); got[p] != 1 {
				t.Errorf("entry %s appears %d times; want 1", p, got[p])
			}
		}
	}
	checkMode(t, path)
}

func TestUpdateConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	const children, perChild, perGoroutine = 4, 15, 15

	var wg sync.WaitGroup
	outputs := make([][]byte, children)
	errs := make([]error, children)
	for i := range children {
		wg.Go(func() {
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(),
				envChildPath+"="+path,
				envChildName+"="+strconv.Itoa(i),
				envChildCount+"="+strconv.Itoa(perChild),
			)
			outputs[i], errs[i] = cmd.CombinedOutput()
		})
	}
	// Update from this process too, while the children run.
	wg.Go(func() {
		for i := range perGoroutine {
			if err := Update(path, addEntry(fmt.Sprintf("/parent/%d", i))); err != nil {
				t.Errorf("Update() in parent error = %v", err)
				return
			}
		}
	})
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("child %d failed: %v\n%s", i, err, outputs[i])
		}
	}

	got := entryPaths(t, path)
	if want := children*perChild + perGoroutine; len(got) != want {
		t.Errorf("config has %d distinct entries; want %d", len(got), want)
	}
	for c := range children {
		for i := range perChild {
			if p := fmt.Sprintf("/child/%d/%d", c, i); got[p] != 1 {
				t.Errorf("entry %s appears %d times; want 1", p, got[p])
			}
		}
	}
	checkMode(t, path)
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".config.json.tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}
