package server

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAuditTargets(t *testing.T) {
	many := make([]string, 100)
	for i := range many {
		many[i] = "k"
	}
	tests := []struct {
		name        string
		targets     []string
		wantKept    int
		wantOmitted int
	}{
		{name: "none", targets: nil, wantKept: 0, wantOmitted: 0},
		{name: "few", targets: []string{"a", "b"}, wantKept: 2, wantOmitted: 0},
		{name: "exactly the count bound", targets: many[:maxAuditTargets], wantKept: maxAuditTargets, wantOmitted: 0},
		{name: "over the count bound", targets: many, wantKept: maxAuditTargets, wantOmitted: 100 - maxAuditTargets},
		{name: "one huge target", targets: []string{strings.Repeat("x", maxAuditTargetBytes+1), "b"}, wantKept: 0, wantOmitted: 2},
		{name: "size bound reached midway", targets: []string{strings.Repeat("x", maxAuditTargetBytes-1), "ab", "c"}, wantKept: 1, wantOmitted: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, omitted := auditTargets(tt.targets)
			if len(kept) != tt.wantKept {
				t.Errorf("auditTargets kept %d targets; want %d", len(kept), tt.wantKept)
			}
			if omitted != tt.wantOmitted {
				t.Errorf("auditTargets omitted %d targets; want %d", omitted, tt.wantOmitted)
			}
		})
	}
}

func TestAuditService(t *testing.T) {
	if got := auditService("aws"); got != "aws" {
		t.Errorf("auditService(aws) = %q; want it unchanged", got)
	}
	long := strings.Repeat("é", maxAuditServiceBytes)
	got := auditService(long)
	if !strings.HasSuffix(got, "...(512 bytes)") {
		t.Errorf("auditService of a 512-byte name = %q; want it cut and marked with its length", got)
	}
	if len(got) > maxAuditServiceBytes+len("...(512 bytes)") {
		t.Errorf("auditService kept %d bytes; want at most %d plus the mark", len(got), maxAuditServiceBytes)
	}
	if !utf8.ValidString(got) {
		t.Errorf("auditService cut inside a character: %q", got)
	}
}
