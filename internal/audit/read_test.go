package audit

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReadFilter(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxSize: 1 << 10, Keep: 100})
	base := time.Date(2026, 8, 5, 20, 0, 0, 0, time.UTC)
	hashA := "sha256:" + strings.Repeat("aa", 32)
	hashB := "sha256:" + strings.Repeat("bb", 32)
	for i := range 30 {
		r := testRecord(i)
		r.Time = base.Add(time.Duration(i) * time.Minute)
		r.BinaryPath, r.BinaryHash, r.Service, r.Result = "/bin/a", hashA, "aws", ResultGranted
		if i%3 == 1 {
			r.BinaryPath, r.BinaryHash, r.Service = "/bin/b", hashB, "gcp"
		}
		if i%5 == 0 {
			r.Result = ResultDenied
		}
		if err := l.Write(r); err != nil {
			t.Fatal(err)
		}
	}

	// pids returns the pids of testRecord(i) for each i in order.
	pids := func(is ...int) []int {
		var out []int
		for _, i := range is {
			out = append(out, testRecord(i).PID)
		}
		return out
	}
	tests := []struct {
		name   string
		filter Filter
		want   []int
	}{
		{name: "binary path", filter: Filter{Binary: "/bin/b", Since: base.Add(20 * time.Minute)}, want: pids(22, 25, 28)},
		{name: "binary hash", filter: Filter{Binary: hashB, Limit: 2}, want: pids(25, 28)},
		{name: "binary hash without prefix", filter: Filter{Binary: strings.Repeat("BB", 32), Limit: 2}, want: pids(25, 28)},
		{name: "service", filter: Filter{Service: "gcp", Limit: 3}, want: pids(22, 25, 28)},
		{name: "result ignoring case", filter: Filter{Result: "denied"}, want: pids(0, 5, 10, 15, 20, 25)},
		{name: "since", filter: Filter{Since: base.Add(27 * time.Minute)}, want: pids(27, 28, 29)},
		{name: "limit", filter: Filter{Limit: 4}, want: pids(26, 27, 28, 29)},
		{name: "limit above count", filter: Filter{Service: "aws", Result: ResultDenied, Limit: 100}, want: pids(0, 5, 15, 20)},
		{name: "no match", filter: Filter{Service: "none"}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			records, err := Read(dir, tc.filter)
			if err != nil {
				t.Fatalf("Read(%+v) = %v", tc.filter, err)
			}
			var got []int
			for _, r := range records {
				got = append(got, r.PID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Read(%+v) pids mismatch (-want +got):\n%s", tc.filter, diff)
			}
		})
	}
}

func TestReadAllInOrder(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxSize: 1 << 10, Keep: 100})
	writeRecords(t, l, 1, 40)

	records, err := Read(dir, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 40 {
		t.Fatalf("Read returned %d records; want 40", len(records))
	}
	for i, r := range records {
		if r.Seq != uint64(i+1) {
			t.Errorf("records[%d].Seq = %d; want %d", i, r.Seq, i+1)
		}
	}
}

func TestOpenDeletesFilesAboveKeep(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{MaxSize: 1 << 10, Keep: 6})
	if err != nil {
		t.Fatal(err)
	}
	writeRecords(t, l, 1, 60)
	l.Close()

	// Lowering Keep deletes the surplus at the next rotation.
	l = openLog(t, dir, Options{MaxSize: 1 << 10, Keep: 2})
	writeRecords(t, l, 61, 10)
	for n := 3; n <= 7; n++ {
		if _, err := os.Stat(rotatedPath(dir, n)); err == nil {
			t.Errorf("audit.log.%d exists; want it deleted with Keep 2", n)
		}
	}
	verifyOK(t, dir)
}

func TestReadTail(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	tests := []struct {
		name     string
		data     string
		wantLast string
		wantNil  bool
		wantTorn int64
	}{
		{name: "empty", data: "", wantNil: true},
		{name: "one line", data: "a\n", wantLast: "a"},
		{name: "two lines", data: "a\nbc\n", wantLast: "bc"},
		{name: "torn only", data: "abc", wantNil: true, wantTorn: 3},
		{name: "torn after line", data: "a\nbc\nde", wantLast: "bc", wantTorn: 2},
		{name: "long last line", data: "a\n" + long + "\n", wantLast: long},
		{name: "long torn tail", data: "a\n" + long, wantLast: "a", wantTorn: int64(len(long))},
		{name: "long line then torn", data: long + "\n" + long, wantLast: long, wantTorn: int64(len(long))},
		{name: "empty last line", data: "a\n\n", wantLast: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := bytes.NewReader([]byte(tc.data))
			last, torn, err := readTail(r, int64(len(tc.data)))
			if err != nil {
				t.Fatalf("readTail = %v", err)
			}
			if (last == nil) != tc.wantNil || string(last) != tc.wantLast || torn != tc.wantTorn {
				t.Errorf("readTail = %s, nil %v, %d; want %s, nil %v, %d",
					shorten(last), last == nil, torn, shorten([]byte(tc.wantLast)), tc.wantNil, tc.wantTorn)
			}
		})
	}
}

func shorten(b []byte) string {
	if len(b) > 20 {
		return fmt.Sprintf("%q... (%d bytes)", b[:20], len(b))
	}
	return fmt.Sprintf("%q", b)
}
