package atomicfile

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "state.json")
	for _, content := range []string{"first\n", "second, longer\n", ""} {
		if err := WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatalf("WriteFile(%q) error = %v", content, err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Errorf("content = %q, %v; want %q", got, err, content)
		}
		if runtime.GOOS != "windows" {
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
				t.Errorf("file mode = %v; want 0600", fi.Mode().Perm())
			}
		}
	}
	if fi, err := os.Stat(dir); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != DirPerm) {
		t.Errorf("directory mode = %v, %v; want %v", fi.Mode().Perm(), err, os.FileMode(DirPerm))
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 {
		t.Errorf("directory holds %d files; want only state.json", len(names))
	}
}

func TestWriteFileOtherMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permission bits")
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := WriteFile(path, []byte("x"), 0o400); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o400 {
		t.Errorf("file mode = %v; want 0400", fi.Mode().Perm())
	}
}

// TestLockExcludes increments a counter kept in a file without atomic
// operations; only mutual exclusion keeps every increment.
func TestLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "counter")
	const workers, perWorker = 8, 25

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range perWorker {
				lock, err := Lock(path)
				if err != nil {
					t.Error(err)
					return
				}
				data, _ := os.ReadFile(path)
				data = append(data, 'x')
				if err := WriteFile(path, data, 0o600); err != nil {
					t.Error(err)
				}
				if err := lock.Unlock(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != workers*perWorker {
		t.Errorf("counter = %d; want %d", len(data), workers*perWorker)
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(path + ".lock"); fi.Mode().Perm() != 0o600 {
			t.Errorf("lock file mode = %v; want 0600", fi.Mode().Perm())
		}
	}
}

func TestUnlockTwice(t *testing.T) {
	lock, err := Lock(filepath.Join(t.TempDir(), "x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := lock.Unlock(); err != nil {
		t.Fatalf("first Unlock() error = %v", err)
	}
	if err := lock.Unlock(); err != nil {
		t.Errorf("second Unlock() error = %v; want nil", err)
	}
}
