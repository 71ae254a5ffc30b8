// Package server accepts connections, identifies each caller, and serves
// its requests against the policy and the secret store.
//
// Every connection is identified from kernel peer credentials before any
// request byte is read. The identity is fixed for the connection; the policy
// for it is looked up in the current config on every request. Every decision
// is written to the audit log before it takes effect, and a request whose
// audit record cannot be written is refused.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keychain-auth/keychain-auth/internal/audit"
	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/internal/identity"
	"github.com/keychain-auth/keychain-auth/internal/pending"
	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/paths"
)

// Defaults for Config fields left zero.
const (
	DefaultIdleTimeout    = 30 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultStoreTimeout   = 10 * time.Second
	DefaultMaxConns       = 1024
	DefaultMaxConnsPerPID = 32
	// drainTimeout bounds how long the daemon reads an unregistered
	// caller's first line after sending the denial.
	drainTimeout = 500 * time.Millisecond
)

// Auditor writes audit records; a non-nil error refuses the request.
type Auditor interface {
	Write(audit.Record) error
}

// PolicySource returns the current config and applies the daemon's own
// edits to it (entries created for signed binaries).
type PolicySource interface {
	Current() *config.Config
	Update(func(*config.Config) error) error
}

// PendingQueue records unregistered callers.
type PendingQueue interface {
	Add(pending.Entry)
}

// Config holds the server's collaborators and limits.
type Config struct {
	Store    store.Store
	Policy   PolicySource
	Pending  PendingQueue
	Audit    Auditor
	Resolver *identity.Resolver
	Logger   *slog.Logger
	Mode     paths.Mode
	// SelfPath and SelfHash identify the daemon's own executable.
	// Connections from a binary with that path or hash (the CLI probing
	// whether the daemon runs, possibly after an upgrade) are closed without
	// being queued for approval. They are never granted anything.
	SelfPath string
	SelfHash string

	IdleTimeout    time.Duration
	WriteTimeout   time.Duration
	StoreTimeout   time.Duration
	MaxConns       int
	MaxConnsPerPID int
}

// Server serves one listener.
type Server struct {
	cfg Config
	log *slog.Logger
	uid uint32

	mu sync.Mutex
	// conns holds every open connection; perPID counts them by peer PID.
	// Both are guarded by mu.
	conns  map[*conn]struct{}
	perPID map[int]int

	// signers caches the parsed trusted signers of the current config.
	signers atomic.Pointer[signerSet]

	wg       sync.WaitGroup
	limiter  *logLimiter
	shutdown chan struct{}
}

// New returns a Server. It does not start listening.
func New(cfg Config) *Server {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.StoreTimeout <= 0 {
		cfg.StoreTimeout = DefaultStoreTimeout
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxConnsPerPID <= 0 {
		cfg.MaxConnsPerPID = DefaultMaxConnsPerPID
	}
	if cfg.Mode == "" {
		cfg.Mode = paths.ModeUser
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg:      cfg,
		log:      log,
		uid:      uint32(os.Geteuid()),
		conns:    map[*conn]struct{}{},
		perPID:   map[int]int{},
		limiter:  newLogLimiter(log, 50, time.Second),
		shutdown: make(chan struct{}),
	}
}

// Serve accepts connections until ln is closed or ctx is done, then closes
// every open connection and waits for their handlers to return.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	if err := enableWriterCredentials(ln); err != nil {
		return err
	}

	var tempDelay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				s.closeAll()
				return nil
			}
			// Out of file descriptors and similar: back off instead of spinning.
			if tempDelay == 0 {
				tempDelay = 5 * time.Millisecond
			} else if tempDelay < time.Second {
				tempDelay *= 2
			}
			s.limiter.Warn("accept failed", "error", err, "retry_in", tempDelay)
			time.Sleep(tempDelay)
			continue
		}
		tempDelay = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, c)
		}()
	}
}

func (s *Server) closeAll() {
	close(s.shutdown)
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// OpenConnections returns the number of connections being served.
func (s *Server) OpenConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// admit registers c, enforcing the per-process cap, and makes room under
// the global cap by closing the connection that has been idle longest.
// One process can therefore never hold more than MaxConnsPerPID slots, and
// idle connections cannot lock out active callers.
func (s *Server) admit(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perPID[c.pid] >= s.cfg.MaxConnsPerPID {
		return false
	}
	if len(s.conns) >= s.cfg.MaxConns {
		var oldest *conn
		for other := range s.conns {
			if other.idleSince().IsZero() {
				continue
			}
			if oldest == nil || other.idleSince().Before(oldest.idleSince()) {
				oldest = other
			}
		}
		if oldest == nil {
			return false
		}
		oldest.evicted.Store(true)
		oldest.nc.Close()
		s.removeLocked(oldest)
	}
	s.conns[c] = struct{}{}
	s.perPID[c.pid]++
	return true
}

func (s *Server) release(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(c)
}

func (s *Server) removeLocked(c *conn) {
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	if s.perPID[c.pid]--; s.perPID[c.pid] <= 0 {
		delete(s.perPID, c.pid)
	}
}
