package pending

import (
	"log/slog"
	"sync"
	"time"
)

// QueueOptions configure a Queue. Zero fields take the defaults.
type QueueOptions struct {
	// Logger receives write failures; nil discards them.
	Logger *slog.Logger
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// HashInterval is the minimum time between two writes that carry the
	// same hash; default 1 s.
	HashInterval time.Duration
	// WritesPerSecond and Burst bound file writes overall with a token
	// bucket; defaults 10 writes per second and a burst of 10.
	WritesPerSecond float64
	Burst           int
}

// QueueStats are counters since the Queue was created.
type QueueStats struct {
	// Attempts counts calls to Add.
	Attempts uint64
	// Writes counts rewrites of pending.json, successful or not.
	Writes uint64
	// Failures counts writes that returned an error.
	Failures uint64
	// Dropped counts entries evicted from memory before they were written,
	// because more than MaxEntries hashes were waiting.
	Dropped uint64
}

// Queue records connection attempts of unregistered binaries for the
// daemon. It counts every attempt in memory and coalesces writes: a hash
// is written at most once per HashInterval, and all writes together follow
// the WritesPerSecond limit. A hash that has not been written recently is
// written before Add returns, if the global limit allows, so an
// administrator sees a new binary in list-pending right after its denial.
// Attempts held back are written by a timer, by Flush or by Close.
//
// A Queue is safe for concurrent use.
type Queue struct {
	path         string
	logger       *slog.Logger
	now          func() time.Time
	hashInterval time.Duration
	rate         float64
	burst        float64

	// writeMu serializes file writes of this Queue, so that the file lock
	// is not contended by its own goroutines.
	writeMu sync.Mutex

	// mu guards the fields below.
	mu sync.Mutex
	// dirty holds attempts not yet written, by hash. Each entry's Attempts
	// counts only the unwritten attempts.
	dirty map[string]Entry
	// lastWrite is when each hash was last included in a write.
	lastWrite map[string]time.Time
	tokens    float64
	tokensAt  time.Time
	timer     *time.Timer
	armed     bool
	closed    bool
	stats     QueueStats
	// lastErr and lastErrAt limit logging of repeated write failures.
	lastErr   string
	lastErrAt time.Time
}

// errorLogInterval is the minimum time between two log records of the
// same write failure.
const errorLogInterval = time.Minute

// NewQueue returns a Queue that writes to the pending file at path.
func NewQueue(path string, opts QueueOptions) *Queue {
	q := &Queue{
		path:         path,
		logger:       opts.Logger,
		now:          opts.Now,
		hashInterval: opts.HashInterval,
		rate:         opts.WritesPerSecond,
		burst:        float64(opts.Burst),
		dirty:        map[string]Entry{},
		lastWrite:    map[string]time.Time{},
	}
	if q.logger == nil {
		q.logger = slog.New(slog.DiscardHandler)
	}
	if q.now == nil {
		q.now = time.Now
	}
	if q.hashInterval <= 0 {
		q.hashInterval = time.Second
	}
	if q.rate <= 0 {
		q.rate = 10
	}
	if q.burst <= 0 {
		q.burst = 10
	}
	q.tokens = q.burst
	q.tokensAt = q.now()
	return q
}

// Add records one attempt (or e.Attempts attempts). It writes the file
// only when the limits allow and otherwise leaves the attempt for a later
// write. Failures are logged, not returned, because the caller is denying
// a connection either way.
func (q *Queue) Add(e Entry) {
	now := q.now()
	e, err := normalize(e, now)
	if err != nil {
		q.logger.Error("record pending binary: invalid entry", "path", e.Path, "err", err)
		return
	}

	q.mu.Lock()
	q.stats.Attempts++
	if q.closed {
		q.mu.Unlock()
		q.logger.Warn("record pending binary: queue is closed, attempt not recorded", "path", e.Path, "hash", e.Hash)
		return
	}
	q.mergeLocked(e)
	batch := q.takeDueLocked(now)
	q.armLocked(now)
	q.mu.Unlock()

	q.write(batch, now)
}

// Flush writes every waiting attempt now, ignoring the limits.
func (q *Queue) Flush() error {
	now := q.now()
	q.mu.Lock()
	batch := q.takeLocked(now, func(string) bool { return true })
	q.mu.Unlock()
	return q.write(batch, now)
}

// Close stops the timer and flushes the waiting attempts. Add calls after
// Close are logged and dropped.
func (q *Queue) Close() error {
	q.mu.Lock()
	q.closed = true
	if q.timer != nil {
		q.timer.Stop()
	}
	q.mu.Unlock()
	return q.Flush()
}

// Stats returns the counters.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stats
}

func (q *Queue) mergeLocked(e Entry) {
	if old, ok := q.dirty[e.Hash]; ok {
		q.dirty[e.Hash] = merge([]Entry{old}, e)[0]
		return
	}
	if len(q.dirty) >= MaxEntries {
		// The file keeps only the newest MaxEntries entries anyway, so the
		// oldest waiting entry is the one to lose.
		var oldest string
		for h, d := range q.dirty {
			if oldest == "" || d.InvokedAt.Before(q.dirty[oldest].InvokedAt) {
				oldest = h
			}
		}
		delete(q.dirty, oldest)
		q.stats.Dropped++
	}
	q.dirty[e.Hash] = e
}

func (q *Queue) refillLocked(now time.Time) {
	if elapsed := now.Sub(q.tokensAt); elapsed > 0 {
		q.tokens = min(q.burst, q.tokens+elapsed.Seconds()*q.rate)
	}
	q.tokensAt = now
}

// takeDueLocked returns the waiting entries whose hash interval has passed,
// if the global limit allows a write now.
func (q *Queue) takeDueLocked(now time.Time) []Entry {
	q.refillLocked(now)
	if q.tokens < 1 || len(q.dirty) == 0 {
		return nil
	}
	batch := q.takeLocked(now, func(hash string) bool {
		last, ok := q.lastWrite[hash]
		return !ok || now.Sub(last) >= q.hashInterval
	})
	if len(batch) > 0 {
		q.tokens--
	}
	return batch
}

// takeLocked removes the waiting entries whose hash passes due and marks
// them as written at now.
func (q *Queue) takeLocked(now time.Time, due func(hash string) bool) []Entry {
	var batch []Entry
	for h, e := range q.dirty {
		if due(h) {
			batch = append(batch, e)
			delete(q.dirty, h)
		}
	}
	if len(batch) == 0 {
		return nil
	}
	for h, t := range q.lastWrite {
		if now.Sub(t) >= q.hashInterval {
			delete(q.lastWrite, h)
		}
	}
	for _, e := range batch {
		q.lastWrite[e.Hash] = now
	}
	return batch
}

// armLocked starts the timer for the earliest time a waiting entry may be
// written, unless it is already running.
func (q *Queue) armLocked(now time.Time) {
	if q.armed || q.closed || len(q.dirty) == 0 {
		return
	}
	var wait time.Duration
	if q.tokens < 1 {
		wait = time.Duration((1 - q.tokens) / q.rate * float64(time.Second))
	}
	soonest := q.hashInterval
	for h := range q.dirty {
		left := time.Duration(0)
		if last, ok := q.lastWrite[h]; ok {
			left = q.hashInterval - now.Sub(last)
		}
		soonest = min(soonest, left)
	}
	wait = max(wait, soonest, 10*time.Millisecond)

	q.armed = true
	if q.timer == nil {
		q.timer = time.AfterFunc(wait, q.onTimer)
	} else {
		q.timer.Reset(wait)
	}
}

func (q *Queue) onTimer() {
	now := q.now()
	q.mu.Lock()
	q.armed = false
	if q.closed {
		q.mu.Unlock()
		return
	}
	batch := q.takeDueLocked(now)
	q.armLocked(now)
	q.mu.Unlock()

	q.write(batch, now)
}

// write records batch in the file. On failure it logs the error and puts
// the attempts back, so a later write can still count them.
func (q *Queue) write(batch []Entry, now time.Time) error {
	if len(batch) == 0 {
		return nil
	}
	q.writeMu.Lock()
	err := RecordAll(q.path, batch, now)
	q.writeMu.Unlock()

	q.mu.Lock()
	defer q.mu.Unlock()
	q.stats.Writes++
	if err == nil {
		return nil
	}
	q.stats.Failures++
	if msg := err.Error(); msg != q.lastErr || now.Sub(q.lastErrAt) >= errorLogInterval {
		q.logger.Error("record pending binaries failed", "file", q.path, "entries", len(batch), "failures", q.stats.Failures, "err", err)
		q.lastErr, q.lastErrAt = msg, now
	}
	for _, e := range batch {
		q.mergeLocked(e)
	}
	q.armLocked(now)
	return err
}
