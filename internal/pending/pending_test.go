package pending

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/keychain-auth/keychain-auth/internal/config"
)

var t0 = time.Date(2026, 8, 5, 20, 0, 0, 0, time.UTC)

// testHash returns a distinct valid hash for each n.
func testHash(n int) string {
	return fmt.Sprintf("sha256:%064x", n)
}

func pendingPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "keychain-auth", "pending.json")
}

func load(t *testing.T, path string) []Entry {
	t.Helper()
	entries, err := Load(path)
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	return entries
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
	if fi.Mode().Perm() != FilePerm {
		t.Errorf("mode of %s = %v; want %v", path, fi.Mode().Perm(), os.FileMode(FilePerm))
	}
}

func TestParseValidFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "valid.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(valid.json) error = %v", err)
	}
	want := []Entry{
		{
			Hash: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Path: "/home/dev/bin/tool",
			CLIArgs: []string{"/home/dev/bin/tool", "get", "aws"}, InvokedAt: t0, PID: 4242, UID: 1000, Attempts: 3,
		},
		{
			Hash: "sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", Path: "/tmp/x",
			CLIArgs: []string{}, InvokedAt: time.Date(2026, 8, 5, 19, 10, 5, 5e8, time.UTC), PID: 1, Attempts: 1,
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(valid.json) mismatch (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	entry := func(extra string) string {
		return `[{"hash": "` + testHash(1) + `", "path": "/x", "invoked_at": "2026-08-05T20:00:00Z"` + extra + `}]`
	}
	for _, tc := range []struct {
		name    string
		data    string
		line    int
		column  int
		message string
	}{
		{name: "not an array", data: `{}`, line: 1, column: 1, message: "the top-level value must be an array, got object"},
		{name: "unknown field", data: entry(`, "cliArgs": []`), line: 1, column: 138, message: `unknown field "cliArgs" in [0]`},
		{name: "duplicate field", data: entry(`, "pid": 1, "pid": 2`), line: 1, column: 148, message: `duplicate field "pid" in [0]`},
		{name: "attempts as string", data: entry(`, "attempts": "3"`), line: 1, column: 150, message: "[0].attempts must be an integer, got string"},
		{name: "negative pid", data: entry(`, "pid": -5`), line: 1, column: 145, message: "[0].pid must be an integer from 0 to 2147483647, got -5"},
		{name: "uid too large", data: entry(`, "uid": 4294967296`), line: 1, column: 145, message: "[0].uid must be an integer from 0 to 4294967295"},
		{name: "bad hash", data: "[\n{\"hash\": \"abc\"}]", line: 2, column: 10, message: `[0].hash must be 64 hex digits after an optional "sha256:", got "abc"`},
		{name: "missing invoked_at", data: "[{\"hash\": \"" + testHash(1) + "\", \"path\": \"/x\"}]", line: 1, column: 2, message: `missing field "invoked_at" in [0]`},
		{name: "trailing data", data: "[]\n]", line: 2, column: 1, message: "unexpected data after the JSON value"},
		{name: "invalid time", data: `[{"hash": "` + testHash(1) + `", "path": "/x", "invoked_at": 5}]`, line: 1, column: 114, message: "[0].invoked_at must be an RFC 3339 time string, got number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data))
			var pe *config.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%s) error = %v; want a *config.ParseError", tc.data, err)
			}
			if pe.File != "pending.json" {
				t.Errorf("File = %q; want %q", pe.File, "pending.json")
			}
			if pe.Line != tc.line || pe.Column != tc.column {
				t.Errorf("position = %d:%d; want %d:%d (error %q)", pe.Line, pe.Column, tc.line, tc.column, pe.Error())
			}
			if !strings.Contains(pe.Msg, tc.message) {
				t.Errorf("message = %q; want it to contain %q", pe.Msg, tc.message)
			}
		})
	}
}

func TestParseErrorHidesArguments(t *testing.T) {
	data := `[{"cli_args": ["tool", "--password=hunter2", 5]}]`
	_, err := Parse([]byte(data))
	if err == nil {
		t.Fatal("Parse() succeeded; want an error")
	}
	if !strings.Contains(err.Error(), "[0].cli_args[2] must be a string, got number") {
		t.Errorf("Parse() error = %q; want it to name cli_args[2]", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Parse() error %q quotes a command-line argument", err)
	}
}

func TestRecordNewEntry(t *testing.T) {
	path := pendingPath(t)
	e := Entry{Hash: strings.ToUpper(testHash(1)[7:]), Path: "/bin/new", CLIArgs: []string{"new", "-v"}, PID: 10, UID: 1000}
	if err := Record(path, e, t0); err != nil {
		t.Fatalf("Record() error = %v", err)
	}
	checkMode(t, path)
	checkMode(t, path+".lock")

	want := []Entry{{Hash: testHash(1), Path: "/bin/new", CLIArgs: []string{"new", "-v"}, InvokedAt: t0, PID: 10, UID: 1000, Attempts: 1}}
	if diff := cmp.Diff(want, load(t, path)); diff != "" {
		t.Errorf("entries mismatch (-want +got):\n%s", diff)
	}
}

func TestRecordDedupe(t *testing.T) {
	path := pendingPath(t)
	if err := Record(path, Entry{Hash: testHash(1), Path: "/bin/old", CLIArgs: []string{"old"}, PID: 1}, t0); err != nil {
		t.Fatal(err)
	}
	if err := Record(path, Entry{Hash: testHash(2), Path: "/bin/other"}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	if err := Record(path, Entry{Hash: testHash(1)[7:], Path: "/bin/moved", CLIArgs: []string{"moved", "x"}, PID: 2, UID: 5}, later); err != nil {
		t.Fatal(err)
	}
	checkMode(t, path)

	want := []Entry{
		{Hash: testHash(2), Path: "/bin/other", InvokedAt: t0.Add(time.Minute), Attempts: 1},
		{Hash: testHash(1), Path: "/bin/moved", CLIArgs: []string{"moved", "x"}, InvokedAt: later, PID: 2, UID: 5, Attempts: 2},
	}
	if diff := cmp.Diff(want, load(t, path), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("entries mismatch (-want +got):\n%s", diff)
	}
}

func TestRecordOlderAttemptKeepsDetails(t *testing.T) {
	path := pendingPath(t)
	if err := Record(path, Entry{Hash: testHash(1), Path: "/bin/new", InvokedAt: t0.Add(time.Hour)}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := Record(path, Entry{Hash: testHash(1), Path: "/bin/old", InvokedAt: t0, Attempts: 4}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := load(t, path)
	if len(got) != 1 || got[0].Path != "/bin/new" || got[0].Attempts != 5 || !got[0].InvokedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("entries = %+v; want one entry for /bin/new with 5 attempts at the newer time", got)
	}
}

func TestExpiry(t *testing.T) {
	path := pendingPath(t)
	if err := Record(path, Entry{Hash: testHash(1), Path: "/bin/a"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := Record(path, Entry{Hash: testHash(2), Path: "/bin/b"}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		now  time.Time
		want []string
	}{
		{name: "both fresh", now: t0.Add(23 * time.Hour), want: []string{"/bin/a", "/bin/b"}},
		{name: "first at exactly 24 h", now: t0.Add(Expiry), want: []string{"/bin/b"}},
		{name: "both expired", now: t0.Add(Expiry + time.Hour), want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := List(path, tc.now)
			if err != nil {
				t.Fatalf("List() error = %v", err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Path)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("List() paths mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// Recording drops expired entries from the file itself.
	if err := Record(path, Entry{Hash: testHash(3), Path: "/bin/c"}, t0.Add(Expiry+time.Minute)); err != nil {
		t.Fatal(err)
	}
	got := load(t, path)
	if len(got) != 2 || got[0].Path != "/bin/b" || got[1].Path != "/bin/c" {
		t.Errorf("file after recording past expiry = %+v; want /bin/b and /bin/c", got)
	}

	// A repeat attempt restarts the 24 hours.
	if err := Record(path, Entry{Hash: testHash(2), Path: "/bin/b"}, t0.Add(Expiry)); err != nil {
		t.Fatal(err)
	}
	entries, err := List(path, t0.Add(Expiry+2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("List() after a repeat attempt returned %d entries; want 2", len(entries))
	}
}

func TestRecordCap(t *testing.T) {
	path := pendingPath(t)
	const extra = 7
	for i := range MaxEntries + extra {
		if err := Record(path, Entry{Hash: testHash(i), Path: "/bin/x"}, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	got := load(t, path)
	if len(got) != MaxEntries {
		t.Fatalf("file has %d entries; want %d", len(got), MaxEntries)
	}
	if got[0].Hash != testHash(extra) || got[len(got)-1].Hash != testHash(MaxEntries+extra-1) {
		t.Errorf("kept %s .. %s; want the newest %d entries", got[0].Hash, got[len(got)-1].Hash, MaxEntries)
	}
}

func TestRecordLimitsArguments(t *testing.T) {
	long := strings.Repeat("é", 3000) // 6000 bytes
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{name: "short", args: []string{"a", "b"}, want: []string{"a", "b"}},
		{name: "too many", args: make([]string, MaxArgs+3), want: append(make([]string, MaxArgs), "...")},
		{name: "too long", args: []string{"a", long}, want: []string{"a", strings.Repeat("é", (MaxArgsBytes-1)/2), "..."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := pendingPath(t)
			if err := Record(path, Entry{Hash: testHash(1), Path: "/bin/x", CLIArgs: tc.args}, t0); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, load(t, path)[0].CLIArgs); diff != "" {
				t.Errorf("stored arguments mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecordRejectsInvalidHash(t *testing.T) {
	path := pendingPath(t)
	if err := Record(path, Entry{Hash: "abc", Path: "/bin/x"}, t0); err == nil {
		t.Error("Record() with an invalid hash succeeded; want an error")
	}
}

func TestRecordRefusesInvalidFile(t *testing.T) {
	path := pendingPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	invalid := []byte(`[{"hash": 1}]`)
	if err := os.WriteFile(path, invalid, 0o600); err != nil {
		t.Fatal(err)
	}
	err := Record(path, Entry{Hash: testHash(1), Path: "/bin/x"}, t0)
	var pe *config.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Record() error = %v; want a *config.ParseError", err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(invalid) {
		t.Errorf("Record overwrote the invalid file with %s", got)
	}
	if _, _, err := Remove(path, testHash(1)); !errors.As(err, &pe) {
		t.Errorf("Remove() error = %v; want a *config.ParseError", err)
	}
}

func TestRemove(t *testing.T) {
	path := pendingPath(t)
	for i := range 3 {
		if err := Record(path, Entry{Hash: testHash(i), Path: fmt.Sprintf("/bin/%d", i)}, t0); err != nil {
			t.Fatal(err)
		}
	}

	got, ok, err := Remove(path, strings.ToUpper(testHash(1)))
	if err != nil || !ok || got.Path != "/bin/1" {
		t.Errorf("Remove(hash 1) = %+v, %v, %v; want the /bin/1 entry", got, ok, err)
	}
	checkMode(t, path)
	if entries := load(t, path); len(entries) != 2 {
		t.Errorf("file has %d entries after Remove; want 2", len(entries))
	}

	before, _ := os.ReadFile(path)
	if _, ok, err := Remove(path, testHash(1)); ok || err != nil {
		t.Errorf("second Remove(hash 1) = %v, %v; want false, nil", ok, err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("Remove of a missing hash rewrote the file")
	}
	if _, _, err := Remove(path, "not-a-hash"); err == nil {
		t.Error("Remove(not-a-hash) succeeded; want an error")
	}
	if _, ok, err := Remove(filepath.Join(t.TempDir(), "none.json"), testHash(1)); ok || err != nil {
		t.Errorf("Remove on a missing file = %v, %v; want false, nil", ok, err)
	}
}

func TestRecordConcurrent(t *testing.T) {
	path := pendingPath(t)
	const workers, perWorker = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				errs <- Record(path, Entry{Hash: testHash(i % 3), Path: fmt.Sprintf("/bin/%d", w)}, t0)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, e := range load(t, path) {
		total += e.Attempts
	}
	if total != workers*perWorker {
		t.Errorf("file counts %d attempts; want %d", total, workers*perWorker)
	}
}

func TestMarshalFormat(t *testing.T) {
	got, err := Marshal([]Entry{{Hash: testHash(1), Path: "/a<b>", InvokedAt: t0, Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := `[
  {
    "hash": "` + testHash(1) + `",
    "path": "/a<b>",
    "cli_args": [],
    "invoked_at": "2026-08-05T20:00:00Z",
    "pid": 0,
    "uid": 0,
    "attempts": 1
  }
]
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("Marshal() mismatch (-want +got):\n%s", diff)
	}
	if empty, _ := Marshal(nil); string(empty) != "[]\n" {
		t.Errorf("Marshal(nil) = %q; want %q", empty, "[]\n")
	}
}

// FuzzParsePending checks that Parse never panics and that every queue it
// accepts survives Marshal and Parse unchanged.
func FuzzParsePending(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse(data)
		if err != nil {
			if _, ok := err.(*config.ParseError); !ok {
				t.Fatalf("Parse error %v is a %T; want *config.ParseError", err, err)
			}
			return
		}
		out, err := Marshal(entries)
		if err != nil {
			for _, e := range entries {
				if y := e.InvokedAt.Year(); y < 0 || y > 9999 {
					return // parses but cannot be encoded
				}
			}
			t.Fatalf("Marshal() error = %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal()) error = %v\n%s", err, out)
		}
		if diff := cmp.Diff(entries, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}
