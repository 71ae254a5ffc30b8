package audit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testRecord returns a typical request record whose target and pid depend on i.
func testRecord(i int) Record {
	return Record{
		Time:       time.Date(2026, 8, 5, 20, 0, 0, i, time.UTC),
		Event:      EventRead,
		PID:        1000 + i,
		UID:        1000,
		BinaryPath: "/usr/local/bin/tool",
		BinaryHash: "sha256:" + strings.Repeat("ab", 32),
		VerifiedBy: VerifiedByHash,
		Service:    "aws",
		Match:      "exact",
		Targets:    []string{fmt.Sprintf("target-%d", i)},
		Result:     ResultGranted,
	}
}

func openLog(t *testing.T, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%q) = %v", dir, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// writeRecords writes records first, first+1, ..., first+n-1.
func writeRecords(t *testing.T, l *Log, first, n int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		if err := l.Write(testRecord(i)); err != nil {
			t.Fatalf("Write(record %d) = %v", i, err)
		}
	}
}

func verifyOK(t *testing.T, dir string) Report {
	t.Helper()
	rep, err := Verify(dir)
	if err != nil {
		t.Fatalf("Verify(%q) = %v", dir, err)
	}
	if !rep.OK() {
		t.Fatalf("Verify(%q) breaks = %v; want none", dir, rep.Breaks)
	}
	return rep
}

// readLines returns the lines of a file without their newlines. A last line
// without a newline is returned too.
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	if len(data) == 0 {
		return nil
	}
	return bytes.Split(data, []byte("\n"))
}

// writeLines replaces a file with lines, each ending in a newline.
func writeLines(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	var data []byte
	for _, ln := range lines {
		data = append(append(data, ln...), '\n')
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func appendToFile(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
}

func currentPath(dir string) string { return filepath.Join(dir, currentName) }
