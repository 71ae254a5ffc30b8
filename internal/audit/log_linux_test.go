package audit

import (
	"errors"
	"os"
	"syscall"
	"testing"
)

// TestWriteFailsOnFullDevice uses /dev/full behind a symlink, because root
// ignores mode bits and a read-only file would not make Write fail.
func TestWriteFailsOnFullDevice(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	dir := t.TempDir()
	if err := os.Symlink("/dev/full", currentPath(dir)); err != nil {
		t.Fatal(err)
	}
	l := openLog(t, dir, Options{})

	err := l.Write(testRecord(1))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Write to /dev/full = %v; want ENOSPC", err)
	}
	if seq, _ := l.Last(); seq != 0 {
		t.Errorf("Last() seq = %d after a failed write; want 0", seq)
	}
	fi, err := os.Stat("/dev/full")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o666 {
		t.Errorf("mode of /dev/full = %#o; Open must not chmod a device", fi.Mode().Perm())
	}
}
