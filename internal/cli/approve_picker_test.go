package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keychain-auth/keychain-auth/internal/pending"
)

func TestPick(t *testing.T) {
	entries := []pending.Entry{
		{Hash: "sha256:" + strings.Repeat("a", 64), Path: "/bin/one", InvokedAt: time.Unix(0, 0)},
		{Hash: "sha256:" + strings.Repeat("b", 64), Path: "/bin/two", InvokedAt: time.Unix(0, 0)},
		{Hash: "sha256:" + strings.Repeat("c", 64), Path: "/bin/three", InvokedAt: time.Unix(0, 0)},
	}
	tests := []struct {
		name    string
		keys    string
		want    int
		wantErr error
	}{
		{name: "enter picks first", keys: "\r", want: 0},
		{name: "j moves down", keys: "j\r", want: 1},
		{name: "down arrow", keys: "\x1b[B\x1b[B\r", want: 2},
		{name: "application mode arrow", keys: "\x1bOB\r", want: 1},
		{name: "up wraps to last", keys: "\x1b[A\r", want: 2},
		{name: "number jumps", keys: "3k\r", want: 1},
		{name: "number out of range ignored", keys: "9\r", want: 0},
		{name: "q cancels", keys: "jq", wantErr: errPickCanceled},
		{name: "ctrl-c cancels", keys: "\x03", wantErr: errPickCanceled},
		{name: "lone escape cancels", keys: "\x1b", wantErr: errPickCanceled},
		{name: "end of input cancels", keys: "j", wantErr: errPickCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			got, err := pick(strings.NewReader(tt.keys), &out, entries, 0)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("pick(%q) error = %v; want %v", tt.keys, err, tt.wantErr)
			}
			if tt.wantErr == nil && got != tt.want {
				t.Errorf("pick(%q) = %d; want %d", tt.keys, got, tt.want)
			}
			if !strings.Contains(out.String(), "/bin/two") {
				t.Errorf("pick did not draw the entries:\n%q", out.String())
			}
		})
	}
}

func TestDrawPickerNeutralizesControlCharacters(t *testing.T) {
	entries := []pending.Entry{{Hash: "sha256:" + strings.Repeat("a", 64), Path: "/tmp/evil\x1b[2J\rname", CLIArgs: []string{"x\x1b]0;title\x07"}}}
	var out bytes.Buffer
	drawPicker(&out, entries, 0, 0)
	if strings.Contains(out.String(), "\x1b[2J") || strings.Contains(out.String(), "\x1b]0;") {
		t.Errorf("drawPicker passed escape sequences from the queue to the terminal: %q", out.String())
	}
	if !strings.Contains(out.String(), "/tmp/evil?[2J?name") {
		t.Errorf("drawPicker output = %q; want control characters shown as ?", out.String())
	}
}

func TestDrawPickerCutsToWidth(t *testing.T) {
	entries := []pending.Entry{{Hash: "sha256:" + strings.Repeat("a", 64), Path: "/" + strings.Repeat("p", 200), CLIArgs: []string{strings.Repeat("c", 300)}}}
	var out bytes.Buffer
	n := drawPicker(&out, entries, 0, 80)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\r\n"), "\r\n")
	if len(lines) != n {
		t.Errorf("drawPicker returned %d; wrote %d lines", n, len(lines))
	}
	for i, l := range lines {
		if w := len([]rune(l)); w >= 80 {
			t.Errorf("line %d has %d runes; want fewer than the width 80", i+1, w)
		}
	}
}
