package pending

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable time source for QueueOptions.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestQueue(t *testing.T, path string, opts QueueOptions) *Queue {
	t.Helper()
	q := NewQueue(path, opts)
	t.Cleanup(func() { q.Close() })
	return q
}

// attempts returns the attempts recorded in the file per hash.
func attempts(t *testing.T, path string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, e := range load(t, path) {
		out[e.Hash] += e.Attempts
	}
	return out
}

func TestQueueCoalescesOneHash(t *testing.T) {
	path := pendingPath(t)
	clock := &fakeClock{now: t0}
	q := newTestQueue(t, path, QueueOptions{Now: clock.Now})

	for range 1000 {
		q.Add(Entry{Hash: testHash(1), Path: "/bin/flood"})
	}
	if got := q.Stats(); got.Attempts != 1000 || got.Writes != 1 {
		t.Errorf("Stats() after 1000 attempts = %+v; want 1000 attempts and 1 write", got)
	}
	if got := attempts(t, path)[testHash(1)]; got != 1 {
		t.Errorf("file counts %d attempts before Flush; want 1 (the first, written at once)", got)
	}

	if err := q.Flush(); err != nil {
		t.Fatalf("Flush() error = %v", err)
	}
	if got := attempts(t, path)[testHash(1)]; got != 1000 {
		t.Errorf("file counts %d attempts after Flush; want 1000", got)
	}
	if got := q.Stats().Writes; got != 2 {
		t.Errorf("Writes after Flush = %d; want 2", got)
	}
	checkMode(t, path)
}

func TestQueueHashInterval(t *testing.T) {
	path := pendingPath(t)
	clock := &fakeClock{now: t0}
	q := newTestQueue(t, path, QueueOptions{Now: clock.Now, HashInterval: time.Second})

	q.Add(Entry{Hash: testHash(1), Path: "/bin/a"})
	clock.Advance(500 * time.Millisecond)
	q.Add(Entry{Hash: testHash(1), Path: "/bin/a"})
	if got := q.Stats().Writes; got != 1 {
		t.Errorf("Writes within the hash interval = %d; want 1", got)
	}

	// Another hash is not held back by the first one's interval.
	q.Add(Entry{Hash: testHash(2), Path: "/bin/b"})
	if got := q.Stats().Writes; got != 2 {
		t.Errorf("Writes after a new hash = %d; want 2", got)
	}

	clock.Advance(600 * time.Millisecond)
	q.Add(Entry{Hash: testHash(1), Path: "/bin/a"})
	if got := q.Stats().Writes; got != 3 {
		t.Errorf("Writes after the hash interval = %d; want 3", got)
	}
	if got := attempts(t, path); got[testHash(1)] != 3 || got[testHash(2)] != 1 {
		t.Errorf("file attempts = %v; want 3 for hash 1 and 1 for hash 2", got)
	}
}

func TestQueueGlobalLimit(t *testing.T) {
	path := pendingPath(t)
	clock := &fakeClock{now: t0}
	const burst, hashes = 5, 300
	q := newTestQueue(t, path, QueueOptions{Now: clock.Now, WritesPerSecond: 2, Burst: burst})

	for i := range hashes {
		q.Add(Entry{Hash: testHash(i), Path: "/bin/x", InvokedAt: t0.Add(time.Duration(i) * time.Microsecond)})
	}
	got := q.Stats()
	if got.Writes != burst {
		t.Errorf("Writes for %d new hashes at one instant = %d; want the burst of %d", hashes, got.Writes, burst)
	}
	// The first burst entries were written; of the rest only the newest
	// MaxEntries can wait in memory.
	if want := uint64(hashes - burst - MaxEntries); got.Dropped != want {
		t.Errorf("Dropped = %d; want %d", got.Dropped, want)
	}

	// Half a second refills one token at 2 writes per second.
	clock.Advance(500 * time.Millisecond)
	q.Add(Entry{Hash: testHash(hashes), Path: "/bin/x", InvokedAt: t0.Add(time.Second)})
	if got := q.Stats().Writes; got != burst+1 {
		t.Errorf("Writes after a refill = %d; want %d", got, burst+1)
	}

	if err := q.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	entries := load(t, path)
	if len(entries) != MaxEntries {
		t.Fatalf("file has %d entries; want %d", len(entries), MaxEntries)
	}
	if last := entries[len(entries)-1].Hash; last != testHash(hashes) {
		t.Errorf("newest entry = %s; want %s", last, testHash(hashes))
	}
}

func TestQueueTimerWritesHeldAttempts(t *testing.T) {
	path := pendingPath(t)
	q := newTestQueue(t, path, QueueOptions{HashInterval: 20 * time.Millisecond})

	q.Add(Entry{Hash: testHash(1), Path: "/bin/a"})
	q.Add(Entry{Hash: testHash(1), Path: "/bin/a"})

	// No deadline: the timer must write the held attempt eventually, and
	// the test binary's own timeout catches a timer that never fires.
	for q.Stats().Writes < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	if got := attempts(t, path)[testHash(1)]; got != 2 {
		t.Errorf("file counts %d attempts after the timer write; want 2", got)
	}
}

func TestQueueKeepsAttemptsOnFailure(t *testing.T) {
	path := pendingPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: t0}
	var logs bytes.Buffer
	q := newTestQueue(t, path, QueueOptions{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	q.Add(Entry{Hash: testHash(1), Path: "/bin/a", CLIArgs: []string{"--token=s3cret"}})
	clock.Advance(2 * time.Second)
	q.Add(Entry{Hash: testHash(1), Path: "/bin/a", CLIArgs: []string{"--token=s3cret"}})
	if got := q.Stats(); got.Failures != 2 {
		t.Errorf("Stats() = %+v; want 2 failures", got)
	}
	if n := strings.Count(logs.String(), "record pending binaries failed"); n != 1 {
		t.Errorf("the same failure was logged %d times; want once", n)
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("log output contains a command-line argument:\n%s", logs.String())
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := q.Flush(); err != nil {
		t.Fatalf("Flush() error = %v", err)
	}
	if got := attempts(t, path)[testHash(1)]; got != 2 {
		t.Errorf("file counts %d attempts after recovery; want 2", got)
	}
}

func TestQueueConcurrentAdds(t *testing.T) {
	path := pendingPath(t)
	// The frozen clock makes the limits deterministic: the burst of 10
	// writes and no refill, plus the final flush.
	clock := &fakeClock{now: t0}
	q := NewQueue(path, QueueOptions{Now: clock.Now, Burst: 10})
	const workers, perWorker = 8, 500

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				q.Add(Entry{Hash: testHash((w + i) % 10), Path: "/bin/x"})
			}
		})
	}
	wg.Wait()
	if err := q.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}

	total := 0
	for _, n := range attempts(t, path) {
		total += n
	}
	if total != workers*perWorker {
		t.Errorf("file counts %d attempts; want %d", total, workers*perWorker)
	}
	if got := q.Stats(); got.Writes > 11 {
		t.Errorf("Writes = %d for %d attempts; want at most 11", got.Writes, workers*perWorker)
	}

	q.Add(Entry{Hash: testHash(1), Path: "/bin/x"})
	if got := q.Stats().Attempts; got != workers*perWorker+1 {
		t.Errorf("Attempts after Close = %d; want %d", got, workers*perWorker+1)
	}
}
