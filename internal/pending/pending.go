// Package pending keeps pending.json, the queue of unregistered binaries
// that tried to connect and wait for an administrator's approval.
//
// Entries expire 24 hours after their last attempt, a repeat attempt by the
// same hash updates its entry, and the file holds at most MaxEntries
// entries, so a flood of unknown binaries cannot grow it without bound.
// Writers share the lock and atomic replacement of config.json (see
// package atomicfile). The daemon records attempts through a Queue, which
// also bounds how often the file is rewritten.
//
// Command lines of unknown binaries may contain secrets, so this package
// never puts cli_args into errors or logs.
package pending

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/keychain-auth/keychain-auth/internal/atomicfile"
	"github.com/keychain-auth/keychain-auth/internal/config"
)

// Limits of the queue.
const (
	// MaxEntries is the maximum number of entries; the oldest go first.
	MaxEntries = 100
	// Expiry is how long an entry stays after its last attempt.
	Expiry = 24 * time.Hour
	// MaxArgs and MaxArgsBytes bound the stored command line of an entry.
	MaxArgs      = 64
	MaxArgsBytes = 4096
	// FilePerm is the mode of pending.json.
	FilePerm = 0o600
)

// Entry is one unregistered binary that tried to connect.
type Entry struct {
	Hash    string   `json:"hash"`
	Path    string   `json:"path"`
	CLIArgs []string `json:"cli_args"`
	// InvokedAt is the time of the last attempt.
	InvokedAt time.Time `json:"invoked_at"`
	PID       int       `json:"pid"`
	UID       uint32    `json:"uid"`
	Attempts  int       `json:"attempts"`
}

func (e *Entry) expired(now time.Time) bool {
	return !now.Before(e.InvokedAt.Add(Expiry))
}

// Parse decodes the content of pending.json. Errors are of type
// *config.ParseError and name the file "pending.json".
func Parse(data []byte) ([]Entry, error) {
	return parseFile("pending.json", data)
}

// Load reads the file at path, including expired entries. A missing file
// is an empty queue.
func Load(path string) ([]Entry, error) {
	data, err := config.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseFile(path, data)
}

// List returns the entries of the file at path that have not expired at
// now, oldest attempt first.
func List(path string, now time.Time) ([]Entry, error) {
	entries, err := Load(path)
	if err != nil {
		return nil, fmt.Errorf("list pending binaries: %w", err)
	}
	return slices.DeleteFunc(entries, func(e Entry) bool { return e.expired(now) }), nil
}

// Record adds one attempt to the file at path (see RecordAll).
func Record(path string, e Entry, now time.Time) error {
	return RecordAll(path, []Entry{e}, now)
}

// RecordAll merges attempts into the file at path under its lock. Each
// entry counts as e.Attempts attempts (at least one). An entry whose hash
// is already queued updates that entry's path, command line, PID, UID and
// time and adds to its attempts. Expired entries are dropped, and the
// oldest beyond MaxEntries. A zero InvokedAt means now.
//
// RecordAll never overwrites a file it cannot parse.
func RecordAll(path string, entries []Entry, now time.Time) error {
	incoming := make([]Entry, 0, len(entries))
	for _, e := range entries {
		e, err := normalize(e, now)
		if err != nil {
			return fmt.Errorf("record pending binary: %w", err)
		}
		incoming = append(incoming, e)
	}

	lock, err := atomicfile.Lock(path)
	if err != nil {
		return fmt.Errorf("record pending binary: %w", err)
	}
	defer lock.Unlock()

	queue, err := Load(path)
	if err != nil {
		return fmt.Errorf("record pending binary: %w", err)
	}
	for _, e := range incoming {
		queue = merge(queue, e)
	}
	queue = prune(queue, now)
	return write(path, queue)
}

// Remove deletes the entries with hash from the file at path and returns
// the first of them. It reports false, and leaves the file alone, when no
// entry has that hash.
func Remove(path, hash string) (Entry, bool, error) {
	hash, err := config.NormalizeHash(hash)
	if err != nil {
		return Entry{}, false, fmt.Errorf("remove pending binary: %w", err)
	}
	lock, err := atomicfile.Lock(path)
	if err != nil {
		return Entry{}, false, fmt.Errorf("remove pending binary: %w", err)
	}
	defer lock.Unlock()

	queue, err := Load(path)
	if err != nil {
		return Entry{}, false, fmt.Errorf("remove pending binary: %w", err)
	}
	i := slices.IndexFunc(queue, func(e Entry) bool { return e.Hash == hash })
	if i < 0 {
		return Entry{}, false, nil
	}
	removed := queue[i]
	queue = slices.DeleteFunc(queue, func(e Entry) bool { return e.Hash == hash })
	if err := write(path, queue); err != nil {
		return Entry{}, false, err
	}
	return removed, true, nil
}

// normalize validates an incoming attempt and applies the defaults and
// size limits.
func normalize(e Entry, now time.Time) (Entry, error) {
	hash, err := config.NormalizeHash(e.Hash)
	if err != nil {
		return e, err
	}
	e.Hash = hash
	if e.InvokedAt.IsZero() {
		e.InvokedAt = now
	}
	e.InvokedAt = e.InvokedAt.UTC()
	e.Attempts = max(e.Attempts, 1)
	e.CLIArgs = limitArgs(e.CLIArgs)
	return e, nil
}

// limitArgs keeps at most MaxArgs arguments and MaxArgsBytes bytes in
// total, marking a cut with a final "..." argument.
func limitArgs(args []string) []string {
	total := 0
	for i, a := range args {
		if i == MaxArgs || total+len(a) > MaxArgsBytes {
			out := slices.Clone(args[:i])
			if rest := MaxArgsBytes - total; i < MaxArgs && rest > 0 {
				out = append(out, truncateUTF8(a, rest))
			}
			return append(out, "...")
		}
		total += len(a)
	}
	return slices.Clone(args)
}

func truncateUTF8(s string, n int) string {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func merge(queue []Entry, e Entry) []Entry {
	i := slices.IndexFunc(queue, func(q Entry) bool { return q.Hash == e.Hash })
	if i < 0 {
		return append(queue, e)
	}
	q := &queue[i]
	q.Attempts = addAttempts(q.Attempts, e.Attempts)
	// Batches from several writers may arrive out of order, so only a
	// newer attempt replaces the details.
	if !e.InvokedAt.Before(q.InvokedAt) {
		q.Path, q.CLIArgs, q.PID, q.UID, q.InvokedAt = e.Path, e.CLIArgs, e.PID, e.UID, e.InvokedAt
	}
	return queue
}

func addAttempts(a, b int) int {
	if a > math.MaxInt32-b {
		return math.MaxInt32
	}
	return a + b
}

// prune drops expired entries, orders the rest by last attempt and keeps
// the newest MaxEntries.
func prune(queue []Entry, now time.Time) []Entry {
	queue = slices.DeleteFunc(queue, func(e Entry) bool { return e.expired(now) })
	slices.SortStableFunc(queue, func(a, b Entry) int { return a.InvokedAt.Compare(b.InvokedAt) })
	if len(queue) > MaxEntries {
		queue = queue[len(queue)-MaxEntries:]
	}
	return queue
}

// Marshal returns entries as the content of pending.json: a JSON array
// indented by two spaces and ending in a newline.
func Marshal(entries []Entry) ([]byte, error) {
	out := make([]Entry, len(entries))
	for i, e := range entries {
		if e.CLIArgs == nil {
			e.CLIArgs = []string{}
		}
		out[i] = e
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func write(path string, queue []Entry) error {
	data, err := Marshal(queue)
	if err != nil {
		return fmt.Errorf("write pending binaries: %w", err)
	}
	if err := atomicfile.WriteFile(path, data, FilePerm); err != nil {
		return fmt.Errorf("write pending binaries: %w", err)
	}
	return nil
}
