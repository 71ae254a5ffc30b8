package protocol

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecodeRequest measures the strict decoder on the request shapes
// the daemon sees most, plus one with escapes that takes the slow path.
func BenchmarkDecodeRequest(b *testing.B) {
	targets := make([]string, 1000)
	values := make([]string, 1000)
	for i := range targets {
		targets[i] = fmt.Sprintf("batch:%06d", i)
		values[i] = fmt.Sprintf("%032d", i)
	}
	tests := []struct {
		name string
		line []byte
	}{
		{"exact read", []byte(`{"type":"REQUEST","action":"read","service":"bench","targets":["bench:one"]}`)},
		{"prefix read", []byte(`{"type":"REQUEST","action":"read","service":"bench","match":"prefix","targets":["bulk:"],"attributes":{"env":"dev"}}`)},
		{"escaped strings", []byte(`{"type":"REQUEST","action":"read","service":"b\u00e9nch","targets":["a\"b","c\\d","\ud83d\ude00"]}`)},
		{"write 1000 keys", AppendRequest(nil, &Request{Type: TypeRequest, Action: ActionWrite, Service: "bench", Targets: targets, Values: values})},
	}
	for _, tt := range tests {
		line := []byte(strings.TrimSuffix(string(tt.line), "\n"))
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeRequest(line); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendResponse measures encoding a one-key read response into a
// reused buffer.
func BenchmarkAppendResponse(b *testing.B) {
	resp := &Response{Status: StatusSuccess, Results: []Result{{Target: "bench:one", Value: "synthetic-value-for-benchmarks-0", HasValue: true}}}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendResponse(buf[:0], resp)
	}
}
