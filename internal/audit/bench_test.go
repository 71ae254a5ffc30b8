package audit

import (
	"encoding/json"
	"testing"
	"time"
)

// BenchmarkWrite measures one record per call, as the daemon writes one per
// request, with rotation at the default size.
func BenchmarkWrite(b *testing.B) {
	l, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	r := testRecord(1)
	r.Time = time.Time{} // Write takes the time, as for the daemon's records
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Write(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteParallel measures Write from GOMAXPROCS goroutines at once.
func BenchmarkWriteParallel(b *testing.B) {
	l, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := testRecord(1)
		r.Time = time.Time{}
		for pb.Next() {
			if err := l.Write(r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	r := testRecord(1)
	var prev [32]byte
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendRecord(buf[:0], &r, 12345, &prev)
	}
}

// BenchmarkEncodeJSON is the encoding/json baseline for BenchmarkEncode.
func BenchmarkEncodeJSON(b *testing.B) {
	r := testRecord(1)
	r.Seq = 12345
	r.Prev = "0000000000000000000000000000000000000000000000000000000000000000"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(&r); err != nil {
			b.Fatal(err)
		}
	}
}
