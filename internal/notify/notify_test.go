package notify

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCommand(t *testing.T) {
	m := Message{Title: "keychain-auth", Body: `/tmp/a<b>&"$(rm -rf ~)"` + "\nsecond line"}
	tests := []struct {
		name     string
		goos     string
		wantName string
		wantArgs []string
		wantOK   bool
	}{
		{
			name:     "linux",
			goos:     "linux",
			wantName: "notify-send",
			wantArgs: []string{"--app-name=keychain-auth", "--", "keychain-auth", `/tmp/a&lt;b&gt;&amp;"$(rm -rf ~)" second line`},
			wantOK:   true,
		},
		{
			name:     "darwin",
			goos:     "darwin",
			wantName: "osascript",
			wantArgs: []string{"-e", appleScript, "--", `/tmp/a<b>&"$(rm -rf ~)" second line`, "keychain-auth"},
			wantOK:   true,
		},
		{name: "windows", goos: "windows", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, args, ok := Command(tt.goos, m)
			if ok != tt.wantOK || name != tt.wantName {
				t.Errorf("Command(%q) = %q, ok %t; want %q, ok %t", tt.goos, name, ok, tt.wantName, tt.wantOK)
			}
			if diff := cmp.Diff(tt.wantArgs, args); diff != "" {
				t.Errorf("Command(%q) arguments (-want +got):\n%s", tt.goos, diff)
			}
		})
	}
}

func TestAppleScriptTakesTextAsArguments(t *testing.T) {
	// The script source is constant: the text is only ever an argument.
	for _, m := range []Message{{Title: `x" & (do shell script "id") & "`, Body: "b"}, {Title: "t", Body: `"end run`}} {
		_, args, _ := Command("darwin", m)
		if args[1] != appleScript {
			t.Errorf("script for %+v = %q; want the constant run handler", m, args[1])
		}
	}
}

func TestSanitize(t *testing.T) {
	long := strings.Repeat("é", MaxTextLen+10)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain", in: "/usr/bin/tool", want: "/usr/bin/tool"},
		{name: "control characters", in: "a\nb\tc\x1b[31md\u2028e", want: "a b c [31md e"},
		{name: "cut long text", in: long, want: strings.Repeat("é", MaxTextLen) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize(tt.in); got != tt.want {
				t.Errorf("Sanitize(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLimiter(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l := &Limiter{PerKey: time.Minute, Window: time.Minute, Max: 3}
	steps := []struct {
		name  string
		key   string
		after time.Duration
		want  bool
	}{
		{name: "first of a", key: "a", after: 0, want: true},
		{name: "repeat of a", key: "a", after: 30 * time.Second, want: false},
		{name: "first of b", key: "b", after: 31 * time.Second, want: true},
		{name: "first of c", key: "c", after: 32 * time.Second, want: true},
		{name: "fourth in a minute", key: "d", after: 33 * time.Second, want: false},
		{name: "a after a minute", key: "a", after: 61 * time.Second, want: true},
		{name: "window still full", key: "e", after: 62 * time.Second, want: false},
		{name: "window freed", key: "e", after: 92 * time.Second, want: true},
	}
	for _, s := range steps {
		if got := l.Allow(s.key, start.Add(s.after)); got != s.want {
			t.Errorf("%s: Allow(%q, +%v) = %t; want %t", s.name, s.key, s.after, got, s.want)
		}
	}
}

func TestNewUnavailable(t *testing.T) {
	missing := func(string) (string, error) { return "", errors.New("not found") }
	if _, err := New(Options{GOOS: "linux", LookPath: missing}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("New(linux, no notify-send) = %v; want ErrUnavailable", err)
	}
	if _, err := New(Options{GOOS: "windows"}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("New(windows) = %v; want ErrUnavailable", err)
	}
}

func TestNotifierRunsProgram(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the fake notifier is a shell script named notify-send")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "args")
	fake := filepath.Join(dir, "notify-send")
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> '" + out + "'\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	n, err := New(Options{
		GOOS:     "linux",
		LookPath: func(string) (string, error) { return fake, nil },
		Now:      func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !n.Notify("sha256:aa", Message{Title: "title", Body: "$(touch pwned); body"}) {
		t.Fatal("first Notify = false; want true")
	}
	n.Wait()
	if n.Notify("sha256:aa", Message{Title: "title", Body: "again"}) {
		t.Error("second Notify for the same key within a minute = true; want false")
	}
	n.Wait()

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := "--app-name=keychain-auth\n--\ntitle\n$(touch pwned); body\n"
	if string(data) != want {
		t.Errorf("notifier arguments = %q; want %q", data, want)
	}
}
