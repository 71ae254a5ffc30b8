package peercred

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAuditToken(t *testing.T) {
	token := func(words ...uint32) []byte {
		b := make([]byte, 0, 4*len(words))
		for _, w := range words {
			b = binary.LittleEndian.AppendUint32(b, w)
		}
		return b
	}
	tests := []struct {
		name  string
		input []byte
		want  auditToken
		ok    bool
	}{
		{
			name:  "user process",
			input: token(501, 501, 20, 501, 20, 4242, 100009, 7),
			want:  auditToken{EUID: 501, PID: 4242, PIDVersion: 7},
			ok:    true,
		},
		{
			name:  "setuid root binary run by a user",
			input: token(501, 0, 20, 501, 20, 1, 100009, 1),
			want:  auditToken{EUID: 0, PID: 1, PIDVersion: 1},
			ok:    true,
		},
		{name: "short", input: token(1, 2, 3, 4, 5, 6, 7)},
		{name: "long", input: token(1, 2, 3, 4, 5, 6, 7, 8, 9)},
		{name: "zero pid", input: token(501, 501, 20, 501, 20, 0, 1, 1)},
		{name: "negative pid", input: token(501, 501, 20, 501, 20, 0xffffffff, 1, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAuditToken(tt.input)
			if (err == nil) != tt.ok {
				t.Fatalf("parseAuditToken(%x) error = %v; want ok=%v", tt.input, err, tt.ok)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("parseAuditToken(%x) mismatch (-want +got):\n%s", tt.input, d)
			}
		})
	}
}
