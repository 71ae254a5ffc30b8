package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var zeroHash = strings.Repeat("0", 64)

func TestWriteFirstRecord(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	in := testRecord(1)
	if err := l.Write(in); err != nil {
		t.Fatalf("Write = %v", err)
	}

	got, err := Read(dir, Filter{})
	if err != nil {
		t.Fatalf("Read = %v", err)
	}
	want := in
	want.Seq = 1
	want.Prev = zeroHash
	if diff := cmp.Diff([]Record{want}, got); diff != "" {
		t.Errorf("Read mismatch (-want +got):\n%s", diff)
	}

	lines := readLines(t, currentPath(dir))
	sum := sha256.Sum256(lines[0])
	seq, hash := l.Last()
	if seq != 1 || hash != hex.EncodeToString(sum[:]) {
		t.Errorf("Last() = %d, %s; want 1, %x", seq, hash, sum)
	}
}

func TestWriteSetsTimeInUTC(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	r := testRecord(1)
	r.Time = time.Time{}
	before := time.Now()
	if err := l.Write(r); err != nil {
		t.Fatalf("Write = %v", err)
	}
	after := time.Now()

	var fields struct{ Time string }
	if err := json.Unmarshal(readLines(t, currentPath(dir))[0], &fields); err != nil {
		t.Fatal(err)
	}
	got, err := time.Parse(time.RFC3339Nano, fields.Time)
	if err != nil {
		t.Fatalf("time %q is not RFC 3339: %v", fields.Time, err)
	}
	if !strings.HasSuffix(fields.Time, "Z") {
		t.Errorf("time %q is not in UTC", fields.Time)
	}
	if got.Before(before.Truncate(time.Nanosecond)) || got.After(after) {
		t.Errorf("time = %v; want between %v and %v", got, before, after)
	}
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name   string
		record Record
	}{
		{name: "typical", record: testRecord(7)},
		{name: "optional fields empty", record: Record{
			Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Event: EventConnect, PID: 1, UID: 0,
			Targets: []string{}, Result: ResultDenied, Reason: "unregistered_binary_pending_approval",
		}},
		{name: "signature", record: Record{
			Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600)), Event: EventConnect,
			PID: 2, UID: 1000, BinaryPath: "/opt/agent", BinaryHash: "sha256:00",
			VerifiedBy: VerifiedBySignature, Signer: "MCowBQYDK2VwAyEA+/=", Targets: []string{},
			Result: ResultAccepted,
		}},
		{name: "escaping", record: Record{
			Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Event: EventWrite, PID: -1, UID: -1,
			BinaryPath: "C:\\Program Files\\tool \"x\".exe", Service: "tab\tnew\nline\x01\x7f",
			Match: "prefix", Targets: []string{"<html>&", "é 日本 \u2028", ""}, Result: ResultError,
			Reason: "internal_error",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var prev [32]byte
			prev[0] = 0xfe
			line := appendRecord(nil, &tc.record, 42, &prev)
			if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
				t.Fatalf("appendRecord = %q; want one line ending in a newline", line)
			}

			var got Record
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("json.Unmarshal(%q) = %v", line, err)
			}
			want := tc.record
			want.Seq = 42
			want.Prev = hex.EncodeToString(prev[:])
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(0)); diff != "" {
				t.Errorf("decoded record mismatch (-want +got):\n%s", diff)
			}

			// The same fields must come out as encoding/json would write them.
			want.Time = want.Time.UTC()
			reference, err := json.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			var gotMap, wantMap map[string]any
			if err := json.Unmarshal(line, &gotMap); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(reference, &wantMap); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantMap, gotMap); diff != "" {
				t.Errorf("fields differ from json.Marshal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeNilTargetsAsEmptyArray(t *testing.T) {
	r := testRecord(1)
	r.Targets = nil
	line := appendRecord(nil, &r, 1, &[32]byte{})
	if !bytes.Contains(line, []byte(`"targets":[]`)) {
		t.Errorf("appendRecord(nil targets) = %s; want \"targets\":[]", line)
	}
}

func TestEncodeInvalidUTF8(t *testing.T) {
	r := testRecord(1)
	r.Targets = []string{"a\xffb"}
	line := appendRecord(nil, &r, 1, &[32]byte{})
	var got Record
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("json.Unmarshal(%q) = %v", line, err)
	}
	if want := "a\uFFFDb"; got.Targets[0] != want {
		t.Errorf("target = %q; want %q", got.Targets[0], want)
	}
}

func TestWriteRejectsInvalidRecord(t *testing.T) {
	tests := []struct {
		name   string
		modify func(r *Record)
	}{
		{name: "empty event", modify: func(r *Record) { r.Event = "" }},
		{name: "unknown event", modify: func(r *Record) { r.Event = "list" }},
		{name: "unknown result", modify: func(r *Record) { r.Result = "granted" }},
		{name: "unknown verified_by", modify: func(r *Record) { r.VerifiedBy = "magic" }},
	}
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testRecord(1)
			tc.modify(&r)
			if err := l.Write(r); err == nil {
				t.Errorf("Write(%+v) = nil; want an error", r)
			}
		})
	}
	if seq, _ := l.Last(); seq != 0 {
		t.Errorf("Last() seq = %d after rejected records; want 0", seq)
	}
}

func TestChainAcrossRotations(t *testing.T) {
	dir := t.TempDir()
	const maxSize = 4 << 10
	l := openLog(t, dir, Options{MaxSize: maxSize, Keep: 3})
	writeRecords(t, l, 1, 500)

	rep := verifyOK(t, dir)
	wantFiles := []string{rotatedPath(dir, 3), rotatedPath(dir, 2), rotatedPath(dir, 1), currentPath(dir)}
	if diff := cmp.Diff(wantFiles, rep.Files); diff != "" {
		t.Errorf("Report.Files mismatch (-want +got):\n%s", diff)
	}
	if rep.LastSeq != 500 {
		t.Errorf("Report.LastSeq = %d; want 500", rep.LastSeq)
	}
	if !rep.MidChain {
		t.Errorf("Report.MidChain = false; want true because rotation deleted older files")
	}
	if got, want := rep.Records, int(rep.LastSeq-rep.FirstSeq+1); got != want {
		t.Errorf("Report.Records = %d; want %d (seq %d to %d)", got, want, rep.FirstSeq, rep.LastSeq)
	}
	if _, err := os.Stat(rotatedPath(dir, 4)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(audit.log.4) = %v; want it deleted with Keep 3", err)
	}
	for _, path := range rep.Files {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > maxSize {
			t.Errorf("%s is %d bytes; want at most %d", path, fi.Size(), maxSize)
		}
	}
}

func TestChainWithoutRotationStartsAtOne(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	writeRecords(t, l, 1, 50)

	rep := verifyOK(t, dir)
	if rep.MidChain || rep.FirstSeq != 1 || rep.LastSeq != 50 || rep.Records != 50 {
		t.Errorf("Verify = MidChain %v, FirstSeq %d, LastSeq %d, Records %d; want false, 1, 50, 50",
			rep.MidChain, rep.FirstSeq, rep.LastSeq, rep.Records)
	}
	_, hash := l.Last()
	if rep.LastHash != hash {
		t.Errorf("Report.LastHash = %s; want Log.Last hash %s", rep.LastHash, hash)
	}
}

func TestRecordLargerThanMaxSize(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxSize: 100, Keep: 10})
	writeRecords(t, l, 1, 3)

	rep := verifyOK(t, dir)
	if rep.Records != 3 || len(rep.Files) != 3 {
		t.Errorf("Verify = %d records in %d files; want 3 records, one per file", rep.Records, len(rep.Files))
	}
}

func TestReopenContinuesChain(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeRecords(t, l, 1, 10)
	seq, hash := l.Last()
	if err := l.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}

	l = openLog(t, dir, Options{})
	gotSeq, gotHash := l.Last()
	if gotSeq != seq || gotHash != hash {
		t.Errorf("Last() after reopen = %d, %s; want %d, %s", gotSeq, gotHash, seq, hash)
	}
	if _, torn := l.TornTail(); torn {
		t.Errorf("TornTail() reported a torn line in a clean log")
	}
	writeRecords(t, l, 11, 10)

	rep := verifyOK(t, dir)
	if rep.LastSeq != 20 || rep.Records != 20 {
		t.Errorf("Verify = LastSeq %d, Records %d; want 20, 20", rep.LastSeq, rep.Records)
	}
}

func TestReopenContinuesFromRotatedFile(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeRecords(t, l, 1, 5)
	l.Close()

	// A crash between the rename and the first write leaves an empty audit.log.
	if err := os.Rename(currentPath(dir), rotatedPath(dir, 1)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(currentPath(dir), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	l = openLog(t, dir, Options{})
	if seq, _ := l.Last(); seq != 5 {
		t.Errorf("Last() seq = %d; want 5 from audit.log.1", seq)
	}
	writeRecords(t, l, 6, 5)
	if rep := verifyOK(t, dir); rep.LastSeq != 10 {
		t.Errorf("Report.LastSeq = %d; want 10", rep.LastSeq)
	}
}

func TestReopenAfterTornTail(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeRecords(t, l, 1, 5)
	l.Close()
	sizeBefore := fileSize(t, currentPath(dir))
	torn := []byte(`{"time":"2026-08-05T20:00:00Z","seq":6,"prev":"ab`)
	appendToFile(t, currentPath(dir), torn)

	l = openLog(t, dir, Options{})
	got, ok := l.TornTail()
	want := TornTail{File: currentPath(dir), Offset: sizeBefore, Length: int64(len(torn))}
	if !ok || got != want {
		t.Errorf("TornTail() = %+v, %v; want %+v, true", got, ok, want)
	}
	if seq, _ := l.Last(); seq != 5 {
		t.Errorf("Last() seq = %d; want 5, the last complete record", seq)
	}
	writeRecords(t, l, 6, 3)

	rep, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantBreaks := []Break{{File: currentPath(dir), Line: 6, Seq: 0, Kind: BreakTorn}}
	if diff := cmp.Diff(wantBreaks, rep.Breaks, cmpopts.IgnoreFields(Break{}, "Detail")); diff != "" {
		t.Errorf("Verify breaks mismatch (-want +got):\n%s", diff)
	}
	if rep.LastSeq != 8 || rep.Records != 8 {
		t.Errorf("Verify = LastSeq %d, Records %d; want 8, 8", rep.LastSeq, rep.Records)
	}
	records, err := Read(dir, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 8 {
		t.Errorf("Read returned %d records; want 8 with the torn line skipped", len(records))
	}
}

func TestReopenAfterRecordWithoutNewline(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeRecords(t, l, 1, 4)
	l.Close()

	// A write that stopped just before its newline leaves a complete record
	// that Write reported as failed. The retry reuses its seq.
	lines := readLines(t, currentPath(dir))
	prev := sha256.Sum256(lines[3])
	r := testRecord(50)
	line := appendRecord(nil, &r, 5, &prev)
	appendToFile(t, currentPath(dir), line[:len(line)-1])

	l = openLog(t, dir, Options{})
	if _, ok := l.TornTail(); !ok {
		t.Errorf("TornTail() = false; want the record without newline reported")
	}
	writeRecords(t, l, 5, 2)

	rep, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantBreaks := []Break{{File: currentPath(dir), Line: 5, Seq: 5, Kind: BreakTorn}}
	if diff := cmp.Diff(wantBreaks, rep.Breaks, cmpopts.IgnoreFields(Break{}, "Detail")); diff != "" {
		t.Errorf("Verify breaks mismatch (-want +got):\n%s", diff)
	}
	if rep.LastSeq != 6 {
		t.Errorf("Report.LastSeq = %d; want 6", rep.LastSeq)
	}
}

func TestReopenTornOnlyCurrentFile(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeRecords(t, l, 1, 3)
	l.Close()
	if err := os.Rename(currentPath(dir), rotatedPath(dir, 1)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(currentPath(dir), []byte(`{"time":"20`), 0o600); err != nil {
		t.Fatal(err)
	}

	l = openLog(t, dir, Options{})
	if seq, _ := l.Last(); seq != 3 {
		t.Errorf("Last() seq = %d; want 3 from audit.log.1", seq)
	}
	writeRecords(t, l, 4, 1)
	rep, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantBreaks := []Break{{File: currentPath(dir), Line: 1, Kind: BreakTorn}}
	if diff := cmp.Diff(wantBreaks, rep.Breaks, cmpopts.IgnoreFields(Break{}, "Detail")); diff != "" {
		t.Errorf("Verify breaks mismatch (-want +got):\n%s", diff)
	}
	if rep.LastSeq != 4 {
		t.Errorf("Report.LastSeq = %d; want 4", rep.LastSeq)
	}
}

func TestOpenRejectsInvalidLastRecord(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeRecords(t, l, 1, 3)
	l.Close()
	appendToFile(t, currentPath(dir), []byte("not a record\n"))

	if l, err := Open(dir, Options{}); err == nil {
		l.Close()
		t.Errorf("Open with an invalid last line = nil error; want an error")
	}
}

func TestOpenRejectsDirectoryAsFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(currentPath(dir), 0o700); err != nil {
		t.Fatal(err)
	}
	if l, err := Open(dir, Options{}); err == nil {
		l.Close()
		t.Errorf("Open with a directory at audit.log = nil error; want an error")
	}
}

func TestFilePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no mode bits")
	}
	dir := filepath.Join(t.TempDir(), "new", "audit")
	l := openLog(t, dir, Options{MaxSize: 500, Keep: 2})
	writeRecords(t, l, 1, 10)

	paths := []string{currentPath(dir), rotatedPath(dir, 1), rotatedPath(dir, 2)}
	for _, path := range paths {
		checkMode(t, path, 0o600)
	}
	checkMode(t, dir, 0o700)
	checkMode(t, filepath.Dir(dir), 0o700)
}

func TestOpenTightensFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no mode bits")
	}
	dir := t.TempDir()
	if err := os.WriteFile(currentPath(dir), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(currentPath(dir), 0o644); err != nil {
		t.Fatal(err)
	}
	openLog(t, dir, Options{})
	checkMode(t, currentPath(dir), 0o600)
}

func TestOpenRejectsWritableDirectory(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no mode bits")
	}
	for _, mode := range []os.FileMode{0o770, 0o707, 0o777} {
		t.Run(fmt.Sprintf("%#o", mode), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			if l, err := Open(dir, Options{}); err == nil {
				l.Close()
				t.Errorf("Open(dir with mode %#o) = nil error; want an error", mode)
			}
		})
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %#o; want %#o", path, got, want)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestWriteFailsWhenRotationFails(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxSize: 1000, Keep: 1})
	writeRecords(t, l, 1, 2)

	// With Keep 1, rotation deletes audit.log.1 before renaming audit.log.
	// A non-empty directory there cannot be removed, even by root.
	blocker := rotatedPath(dir, 1)
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 3; i < 20 && err == nil; i++ {
		err = l.Write(testRecord(i))
	}
	if err == nil {
		t.Fatalf("Write with a directory at audit.log.1 never failed; want a rotation error")
	}
	seq, _ := l.Last()

	// Once the obstacle is gone, writing resumes and the chain has no gap.
	if err := os.RemoveAll(blocker); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(testRecord(100)); err != nil {
		t.Fatalf("Write after removing the obstacle = %v", err)
	}
	if got, _ := l.Last(); got != seq+1 {
		t.Errorf("Last() seq = %d; want %d", got, seq+1)
	}
	verifyOK(t, dir)
}

func TestWriteAfterClose(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := l.Write(testRecord(1)); err == nil {
		t.Errorf("Write after Close = nil; want an error")
	}
	if err := l.Sync(); err == nil {
		t.Errorf("Sync after Close = nil; want an error")
	}
}

func TestSync(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	writeRecords(t, l, 1, 3)
	if err := l.Sync(); err != nil {
		t.Errorf("Sync = %v", err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxSize: 16 << 10, Keep: 1000})
	const writers, perWriter = 8, 500

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				r := testRecord(i)
				r.PID = w
				if err := l.Write(r); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Write = %v", err)
	}

	rep := verifyOK(t, dir)
	if rep.Records != writers*perWriter || rep.MidChain {
		t.Errorf("Verify = %d records, MidChain %v; want %d, false", rep.Records, rep.MidChain, writers*perWriter)
	}
	records, err := Read(dir, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	perPID := map[int]int{}
	for _, r := range records {
		perPID[r.PID]++
	}
	for w := range writers {
		if perPID[w] != perWriter {
			t.Errorf("writer %d has %d records; want %d", w, perPID[w], perWriter)
		}
	}
}

func TestTargetLoggedButNoValueField(t *testing.T) {
	const canary = "canary-7f3a9c-target"
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	r := testRecord(1)
	r.Event = EventWrite
	r.Targets = []string{canary}
	if err := l.Write(r); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(currentPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(canary)) {
		t.Errorf("audit.log does not contain the target name %q", canary)
	}

	// Record must not gain a field that could carry a secret value.
	wantTags := []string{"time", "seq", "prev", "event", "pid", "uid", "binary_path", "binary_hash",
		"verified_by,omitempty", "signer,omitempty", "service", "match,omitempty", "targets", "targets_omitted,omitempty", "result", "reason"}
	var gotTags []string
	typ := reflect.TypeFor[Record]()
	for i := range typ.NumField() {
		gotTags = append(gotTags, typ.Field(i).Tag.Get("json"))
	}
	if diff := cmp.Diff(wantTags, gotTags); diff != "" {
		t.Errorf("Record json fields mismatch (-want +got):\n%s", diff)
	}
}
