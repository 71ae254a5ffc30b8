package identity

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// procArgs2 builds a kern.procargs2 buffer as macOS lays it out.
func procArgs2(argc int32, execPath string, padding int, args, env []string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(argc))
	b = append(b, execPath...)
	b = append(b, make([]byte, 1+padding)...)
	for _, a := range args {
		b = append(append(b, a...), 0)
	}
	for _, e := range env {
		b = append(append(b, e...), 0)
	}
	return b
}

func TestParseProcArgs2(t *testing.T) {
	tests := []struct {
		name     string
		input    []byte
		wantPath string
		wantArgs []string
		ok       bool
	}{
		{
			name:     "typical",
			input:    procArgs2(3, "/usr/local/bin/tool", 5, []string{"tool", "--flag", "value with space"}, []string{"HOME=/Users/a"}),
			wantPath: "/usr/local/bin/tool",
			wantArgs: []string{"tool", "--flag", "value with space"},
			ok:       true,
		},
		{
			name:     "no padding and no environment",
			input:    procArgs2(1, "/bin/sh", 0, []string{"sh"}, nil),
			wantPath: "/bin/sh",
			wantArgs: []string{"sh"},
			ok:       true,
		},
		{
			name:     "relative exec path",
			input:    procArgs2(1, "./a.out", 2, []string{"./a.out"}, nil),
			wantPath: "./a.out",
			wantArgs: []string{"./a.out"},
			ok:       true,
		},
		{
			name:     "zero arguments",
			input:    procArgs2(0, "/bin/x", 3, nil, []string{"A=1"}),
			wantPath: "/bin/x",
			wantArgs: []string{},
			ok:       true,
		},
		{name: "empty", input: nil},
		{name: "count only", input: []byte{1, 0, 0, 0}},
		{name: "path without NUL", input: append(binary.LittleEndian.AppendUint32(nil, 1), "/bin/x"...)},
		{name: "negative count", input: procArgs2(-1, "/bin/x", 0, []string{"x"}, nil)},
		{name: "count above data", input: procArgs2(1000, "/bin/x", 0, []string{"x"}, nil)},
		{name: "missing argument", input: procArgs2(3, "/bin/x", 0, []string{"x"}, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotPath, gotArgs, err := parseProcArgs2(tt.input)
			if (err == nil) != tt.ok {
				t.Fatalf("parseProcArgs2(%q) error = %v; want ok=%v", tt.input, err, tt.ok)
			}
			if gotPath != tt.wantPath {
				t.Errorf("parseProcArgs2(%q) path = %q; want %q", tt.input, gotPath, tt.wantPath)
			}
			if d := cmp.Diff(tt.wantArgs, gotArgs); d != "" {
				t.Errorf("parseProcArgs2(%q) arguments mismatch (-want +got):\n%s", tt.input, d)
			}
		})
	}
}

// TestParseProcArgs2Fixture parses a hand-built buffer for `/bin/sleep 30`
// with the parts the kernel adds around the arguments: alignment padding
// after the path, the environment, and the "apple" strings after it.
// NOTE: the fixture is built from the layout described on parseProcArgs2,
// not captured on a Mac, so a layout change in macOS would not show here.
func TestParseProcArgs2Fixture(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "procargs2_sleep.bin"))
	if err != nil {
		t.Fatal(err)
	}
	path, args, err := parseProcArgs2(data)
	if err != nil {
		t.Fatalf("parseProcArgs2(fixture) = %v", err)
	}
	if path != "/bin/sleep" {
		t.Errorf("parseProcArgs2(fixture) path = %q; want %q", path, "/bin/sleep")
	}
	if d := cmp.Diff([]string{"sleep", "30"}, args); d != "" {
		t.Errorf("parseProcArgs2(fixture) arguments mismatch (-want +got):\n%s", d)
	}
	for _, a := range args {
		if strings.Contains(a, "=") {
			t.Errorf("parseProcArgs2(fixture) returned environment entry %q as an argument", a)
		}
	}
}

func TestTrimFinalPathPrefix(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "drive", in: `\\?\C:\Program Files\app\app.exe`, want: `C:\Program Files\app\app.exe`},
		{name: "UNC", in: `\\?\UNC\server\share\app.exe`, want: `\\server\share\app.exe`},
		{name: "UNC lower case", in: `\\?\unc\server\share\app.exe`, want: `\\server\share\app.exe`},
		{name: "already plain", in: `C:\app.exe`, want: `C:\app.exe`},
		{name: "plain UNC", in: `\\server\share\app.exe`, want: `\\server\share\app.exe`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := trimFinalPathPrefix(tt.in); got != tt.want {
				t.Errorf("trimFinalPathPrefix(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}
