// Package notify shows desktop notifications through the platform's
// notifier program: notify-send (libnotify) on Linux and osascript on macOS.
//
// Text reaches the notifier as separate exec arguments, never through a
// shell, and on macOS as arguments of an AppleScript run handler rather
// than as script source, so a file name chosen by an attacker cannot run
// code. Callers must still pass nothing secret: notifications are visible
// on screen and kept by the notification daemon. A Notifier rate-limits
// per key and overall, and runs at most one notifier process at a time.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Message is one notification.
type Message struct {
	Title string
	Body  string
}

// MaxTextLen is the maximum length in runes of a title or body; longer
// text is cut and ends in an ellipsis.
const MaxTextLen = 200

// ErrUnavailable reports that no notifier program exists for the platform
// or it is not installed.
var ErrUnavailable = errors.New("no desktop notifier available")

// appleScript shows the notification whose body and title are the run
// handler's arguments, so neither is parsed as AppleScript.
const appleScript = `on run argv
display notification (item 1 of argv) with title (item 2 of argv)
end run`

// Command returns the program and arguments that show m on goos, with the
// text cleaned by Sanitize. ok is false where no notifier is known.
func Command(goos string, m Message) (name string, args []string, ok bool) {
	title, body := Sanitize(m.Title), Sanitize(m.Body)
	switch goos {
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly":
		// The notification specification lets servers interpret a small
		// markup language in the body, so markup characters are escaped.
		return "notify-send", []string{"--app-name=keychain-auth", "--", title, escapeMarkup(body)}, true
	case "darwin":
		return "osascript", []string{"-e", appleScript, "--", body, title}, true
	}
	return "", nil, false
}

// Sanitize replaces control characters (newlines included) with spaces and
// cuts s to MaxTextLen runes.
func Sanitize(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == MaxTextLen {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func escapeMarkup(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Options configure a Notifier. Zero fields take the defaults.
type Options struct {
	// GOOS selects the notifier program; runtime.GOOS fits.
	GOOS string
	// LookPath finds the notifier program; default exec.LookPath.
	LookPath func(string) (string, error)
	// Logger receives failures of the notifier; nil discards them.
	Logger *slog.Logger
	// Timeout bounds each notifier run; default 5 s.
	Timeout time.Duration
	// Limits; see Limiter. Defaults: one per key per minute, at most three
	// per minute overall.
	PerKey time.Duration
	Window time.Duration
	Max    int
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Notifier sends rate-limited notifications in the background.
type Notifier struct {
	path    string
	goos    string
	log     *slog.Logger
	timeout time.Duration
	now     func() time.Time
	limiter *Limiter

	// mu guards busy and failures.
	mu       sync.Mutex
	busy     bool
	failures int
	wg       sync.WaitGroup
}

// New returns a Notifier for opts.GOOS, or an error wrapping ErrUnavailable
// when the platform has no notifier or its program is not found.
func New(opts Options) (*Notifier, error) {
	name, _, ok := Command(opts.GOOS, Message{})
	if !ok {
		return nil, fmt.Errorf("%w on %s", ErrUnavailable, opts.GOOS)
	}
	lookPath := opts.LookPath
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	path, err := lookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %q not found: %v", ErrUnavailable, name, err)
	}

	n := &Notifier{
		path: path, goos: opts.GOOS, log: opts.Logger, timeout: opts.Timeout, now: opts.Now,
		limiter: &Limiter{PerKey: opts.PerKey, Window: opts.Window, Max: opts.Max},
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.timeout <= 0 {
		n.timeout = 5 * time.Second
	}
	if n.now == nil {
		n.now = time.Now
	}
	return n, nil
}

// Notify shows m unless the limits for key or overall are reached or a
// previous notification is still running. It does not wait for the
// notifier and reports whether one was started.
func (n *Notifier) Notify(key string, m Message) bool {
	n.mu.Lock()
	if n.busy || !n.limiter.Allow(key, n.now()) {
		n.mu.Unlock()
		return false
	}
	n.busy = true
	n.wg.Add(1)
	n.mu.Unlock()

	_, args, _ := Command(n.goos, m)
	go n.run(args)
	return true
}

func (n *Notifier) run(args []string) {
	defer n.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	defer cancel()
	err := exec.CommandContext(ctx, n.path, args...).Run()

	n.mu.Lock()
	defer n.mu.Unlock()
	n.busy = false
	if err == nil {
		return
	}
	// A missing session bus fails every run the same way, so only the
	// first failure and then every hundredth is logged.
	if n.failures%100 == 0 {
		n.log.Warn("desktop notification failed", "program", n.path, "failures", n.failures+1, "error", err)
	}
	n.failures++
}

// Wait blocks until the running notifier, if any, has exited.
func (n *Notifier) Wait() {
	n.wg.Wait()
}

// Limiter allows an event at most once per PerKey for each key and at most
// Max times in any Window overall. Zero fields take the defaults of
// Options. A Limiter is not safe for concurrent use.
type Limiter struct {
	PerKey time.Duration
	Window time.Duration
	Max    int

	last   map[string]time.Time
	recent []time.Time
}

// Allow reports whether an event for key may happen at now, and records it
// if so.
func (l *Limiter) Allow(key string, now time.Time) bool {
	perKey, window, limit := l.PerKey, l.Window, l.Max
	if perKey <= 0 {
		perKey = time.Minute
	}
	if window <= 0 {
		window = time.Minute
	}
	if limit <= 0 {
		limit = 3
	}
	if l.last == nil {
		l.last = map[string]time.Time{}
	}

	// Forget what lies outside both intervals, so memory stays bounded by
	// the number of keys seen in the last PerKey.
	for k, t := range l.last {
		if now.Sub(t) >= perKey {
			delete(l.last, k)
		}
	}
	kept := l.recent[:0]
	for _, t := range l.recent {
		if now.Sub(t) < window {
			kept = append(kept, t)
		}
	}
	l.recent = kept

	if _, seen := l.last[key]; seen || len(l.recent) >= limit {
		return false
	}
	l.last[key] = now
	l.recent = append(l.recent, now)
	return true
}
