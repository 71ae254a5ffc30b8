package server

import (
	"log/slog"
	"sync"
	"time"
)

// logLimiter caps log lines a client can cause at a fixed number per
// interval, and reports how many it dropped when the next interval opens.
type logLimiter struct {
	log      *slog.Logger
	max      int
	interval time.Duration

	mu sync.Mutex
	// windowStart, count and dropped describe the current interval; guarded by mu.
	windowStart time.Time
	count       int
	dropped     int
}

func newLogLimiter(log *slog.Logger, max int, interval time.Duration) *logLimiter {
	return &logLimiter{log: log, max: max, interval: interval}
}

func (l *logLimiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.windowStart) >= l.interval {
		if l.dropped > 0 {
			l.log.Warn("log lines dropped by rate limit", "dropped", l.dropped, "interval", l.interval)
		}
		l.windowStart, l.count, l.dropped = now, 0, 0
	}
	if l.count >= l.max {
		l.dropped++
		return false
	}
	l.count++
	return true
}

func (l *logLimiter) Info(msg string, args ...any) {
	if l.allow() {
		l.log.Info(msg, args...)
	}
}

func (l *logLimiter) Warn(msg string, args ...any) {
	if l.allow() {
		l.log.Warn(msg, args...)
	}
}

func (l *logLimiter) Error(msg string, args ...any) {
	if l.allow() {
		l.log.Error(msg, args...)
	}
}
