package transport

import (
	"strings"
	"testing"
)

func TestPipeSecurityDescriptor(t *testing.T) {
	tests := []struct {
		name string
		sid  string
		want string
		ok   bool
	}{
		{
			name: "domain user",
			sid:  "S-1-5-21-1004336348-1177238915-682003330-512",
			want: "O:S-1-5-21-1004336348-1177238915-682003330-512D:P(A;;GA;;;SY)(A;;GA;;;S-1-5-21-1004336348-1177238915-682003330-512)",
			ok:   true,
		},
		{name: "local system", sid: "S-1-5-18", want: "O:S-1-5-18D:P(A;;GA;;;SY)(A;;GA;;;S-1-5-18)", ok: true},
		{name: "empty", sid: ""},
		{name: "alias not SID", sid: "BA"},
		{name: "ACE injection", sid: "S-1-5-18)(A;;GA;;;WD"},
		{name: "lower case prefix", sid: "s-1-5-18"},
		{name: "revision 2", sid: "S-2-5-18"},
		{name: "no sub-authority", sid: "S-1-5"},
		{name: "empty component", sid: "S-1-5--18"},
		{name: "hex component", sid: "S-1-5-0x12"},
		{name: "too many sub-authorities", sid: "S-1-5" + strings.Repeat("-1", 16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PipeSecurityDescriptor(tt.sid)
			if (err == nil) != tt.ok {
				t.Fatalf("PipeSecurityDescriptor(%q) error = %v; want ok=%v", tt.sid, err, tt.ok)
			}
			if got != tt.want {
				t.Errorf("PipeSecurityDescriptor(%q) = %q; want %q", tt.sid, got, tt.want)
			}
		})
	}
}

func TestPipeSecurityDescriptorGrantsOnlyTwo(t *testing.T) {
	sddl, err := PipeSecurityDescriptor("S-1-5-21-1-2-3-1001")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(sddl, "(A;"); n != 2 {
		t.Errorf("PipeSecurityDescriptor has %d allow ACEs; want 2 (SYSTEM and the user)", n)
	}
	for _, broad := range []string{";WD)", ";AU)", ";BU)", ";BA)", ";AN)", "(D;"} {
		if strings.Contains(sddl, broad) {
			t.Errorf("PipeSecurityDescriptor = %q; contains %q", sddl, broad)
		}
	}
	if !strings.Contains(sddl, "D:P") {
		t.Errorf("PipeSecurityDescriptor = %q; want a protected DACL (D:P)", sddl)
	}
}
