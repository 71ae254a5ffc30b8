package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keychain-auth/keychain-auth/internal/notify"
	"github.com/keychain-auth/keychain-auth/internal/pending"
)

type recordingQueue struct{ entries []pending.Entry }

func (q *recordingQueue) Add(e pending.Entry) { q.entries = append(q.entries, e) }

func TestNotifyingQueueAdd(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "args")
	fake := filepath.Join(dir, "notify-send")
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> '" + out + "'\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(notify.Options{GOOS: "linux", LookPath: func(string) (string, error) { return fake, nil }})
	if err != nil {
		t.Fatal(err)
	}
	inner := &recordingQueue{}
	q := notifyingQueue{PendingQueue: inner, notifier: n}

	e := pending.Entry{
		Hash:      "sha256:" + strings.Repeat("ab", 32),
		Path:      "/opt/tool",
		CLIArgs:   []string{"/opt/tool", "--token=hunter2"},
		InvokedAt: time.Now(),
		Attempts:  1,
	}
	q.Add(e)
	q.Add(e)
	n.Wait()

	if len(inner.entries) != 2 {
		t.Errorf("queued %d entries; want 2 (every attempt reaches the queue)", len(inner.entries))
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("notifier did not run: %v", err)
	}
	got := string(data)
	if strings.Count(got, "--app-name=keychain-auth") != 1 {
		t.Errorf("notifier ran %d times for one hash; want 1:\n%s", strings.Count(got, "--app-name"), got)
	}
	if !strings.Contains(got, "/opt/tool (sha256:abababababab…)") {
		t.Errorf("notification = %q; want the path and a hash prefix", got)
	}
	if strings.Contains(got, "hunter2") {
		t.Errorf("notification = %q; it must not contain the command line", got)
	}
}
