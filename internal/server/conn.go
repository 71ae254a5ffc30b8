package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/keychain-auth/keychain-auth/internal/audit"
	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/internal/identity"
	"github.com/keychain-auth/keychain-auth/internal/peercred"
	"github.com/keychain-auth/keychain-auth/internal/pending"
	"github.com/keychain-auth/keychain-auth/paths"
	"github.com/keychain-auth/keychain-auth/protocol"
)

// conn is one client connection.
type conn struct {
	nc   net.Conn
	pid  int
	cred *peercred.Cred
	id   *identity.Identity
	// verifiedBy is "hash" or "signature"; signer is set for the latter.
	verifiedBy audit.Verification
	signer     string

	// idle holds the UnixNano time since which the connection has waited
	// for a request, or 0 while a request is being served.
	idle    atomic.Int64
	evicted atomic.Bool
}

func (c *conn) idleSince() time.Time {
	v := c.idle.Load()
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v)
}

// readBufferSize is the size of each connection's read and write buffers.
// Longer request lines are gathered by protocol.ReadLine and longer
// responses bypass the write buffer, so it bounds memory per idle
// connection, not message size.
const readBufferSize = 16 << 10

var internalErrorLine = protocol.AppendResponse(nil, &protocol.Response{Status: protocol.StatusError, Reason: protocol.ReasonInternalError})

func (s *Server) handle(ctx context.Context, nc net.Conn) {
	defer nc.Close()

	cred, err := peercred.Get(nc)
	if err != nil {
		s.limiter.Warn("connection rejected: cannot read peer credentials", "error", err)
		return
	}
	defer cred.Close()

	c := &conn{nc: nc, pid: cred.PID, cred: cred}
	c.idle.Store(time.Now().UnixNano())
	if !s.admit(c) {
		s.limiter.Warn("connection rejected: too many connections", "pid", cred.PID, "per_process_limit", s.cfg.MaxConnsPerPID, "limit", s.cfg.MaxConns)
		return
	}
	defer s.release(c)

	if s.cfg.Mode == paths.ModeUser && cred.UID != s.uid {
		s.limiter.Warn("connection rejected: peer runs as another user", "pid", cred.PID, "uid", cred.UID, "daemon_uid", s.uid)
		s.audit(audit.Record{Event: audit.EventConnect, PID: cred.PID, UID: int(cred.UID), Result: audit.ResultDenied, Reason: "uid_mismatch"})
		return
	}

	cfg := s.cfg.Policy.Current()
	id, err := s.cfg.Resolver.Resolve(cred, s.trustedSigners(cfg).signers)
	if err != nil {
		s.limiter.Warn("connection rejected: cannot identify peer", "pid", cred.PID, "uid", cred.UID, "error", err)
		s.audit(audit.Record{Event: audit.EventConnect, PID: cred.PID, UID: int(cred.UID), Result: audit.ResultError, Reason: "identity_check_failed"})
		return
	}
	c.id = id

	if (s.cfg.SelfHash != "" && id.Hash == s.cfg.SelfHash) || (s.cfg.SelfPath != "" && id.Path == s.cfg.SelfPath) {
		// The CLI probing whether the daemon runs: nothing is served, but
		// the connection is still on record.
		s.log.Debug("liveness probe from keychain-auth", "pid", id.PID)
		s.audit(s.record(c, audit.EventConnect, nil, audit.ResultDenied, "liveness_probe"))
		return
	}

	if !s.authenticate(c, cfg) {
		s.rejectUnregistered(c)
		return
	}

	if err := s.cfg.Audit.Write(s.record(c, audit.EventConnect, nil, audit.ResultAccepted, "")); err != nil {
		s.log.Error("connection refused: audit log write failed", "pid", id.PID, "error", err)
		nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		nc.Write(internalErrorLine)
		return
	}
	s.limiter.Info("connection accepted", "pid", id.PID, "uid", id.UID, "path", id.Path, "hash", id.Hash, "verified_by", c.verifiedBy)

	s.serve(ctx, c)
}

// authenticate reports whether the caller is registered by path and hash,
// or signed by a trusted signer, and records how.
func (s *Server) authenticate(c *conn, cfg *config.Config) bool {
	if entry := cfg.Lookup(c.id.Path, c.id.Hash); entry != nil && s.signedEntryUsable(c, cfg, entry) {
		c.verifiedBy = audit.VerifiedByHash
		if entry.Signer != "" {
			c.verifiedBy = audit.VerifiedBySignature
			c.signer = entry.Signer
		}
		return true
	}
	return s.authenticateSigned(c, cfg)
}

// rejectUnregistered queues the caller, sends the denial line, then reads
// the caller's first line briefly so that a client that wrote before
// reading gets the denial rather than a connection reset.
func (s *Server) rejectUnregistered(c *conn) {
	id := c.id
	args, err := identity.CommandLine(id.PID)
	if err != nil {
		args = []string{id.Path}
	}
	s.cfg.Pending.Add(pending.Entry{Hash: id.Hash, Path: id.Path, CLIArgs: args, InvokedAt: time.Now().UTC(), PID: id.PID, UID: id.UID, Attempts: 1})

	reason := string(protocol.ReasonUnregistered)
	if err := s.cfg.Audit.Write(s.record(c, audit.EventConnect, nil, audit.ResultDenied, reason)); err != nil {
		s.log.Error("audit log write failed", "pid", id.PID, "error", err)
	}
	s.limiter.Info("connection denied: unregistered binary queued for approval", "pid", id.PID, "uid", id.UID, "path", id.Path, "hash", id.Hash)

	c.nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	if _, err := io.WriteString(c.nc, protocol.DenialUnregistered); err != nil {
		return
	}
	if uc, ok := c.nc.(*net.UnixConn); ok {
		uc.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(drainTimeout))
	r := bufio.NewReaderSize(io.LimitReader(c.nc, protocol.MaxLineSize+1), 4096)
	for {
		if _, err := r.ReadSlice('\n'); err != bufio.ErrBufferFull {
			return
		}
	}
}

// serve handles requests in order until the client closes, idles out, or
// sends an oversize line.
func (s *Server) serve(ctx context.Context, c *conn) {
	r := bufio.NewReaderSize(newRequestReader(c.nc, c.pid), readBufferSize)
	// bufio.Writer sends a response larger than its buffer straight to the
	// connection, bypassing Flush, so the deadline is set on every write.
	w := bufio.NewWriterSize(deadlineWriter{c.nc, s.cfg.WriteTimeout}, readBufferSize)
	for {
		c.idle.Store(time.Now().UnixNano())
		c.nc.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		line, err := protocol.ReadLine(r)
		c.idle.Store(0)
		if err != nil {
			s.endOfStream(c, w, err)
			return
		}

		resp, keep := s.handleLine(ctx, c, line)
		w.Write(resp)
		// Responses to pipelined requests are flushed together once the
		// client has no more buffered requests.
		if r.Buffered() == 0 || !keep || w.Buffered() > readBufferSize/2 {
			if err := w.Flush(); err != nil {
				s.limiter.Warn("connection closed: write failed", "pid", c.id.PID, "error", err)
				return
			}
		}
		if !keep {
			return
		}
	}
}

func (s *Server) endOfStream(c *conn, w *bufio.Writer, err error) {
	switch {
	case errors.Is(err, protocol.ErrLineTooLong):
		s.limiter.Warn("connection closed: request line exceeds 1 MiB", "pid", c.id.PID)
		s.audit(s.record(c, audit.EventRequest, nil, audit.ResultError, string(protocol.ReasonMalformedRequest)))
		w.Write(protocol.AppendResponse(nil, &protocol.Response{Status: protocol.StatusError, Reason: protocol.ReasonMalformedRequest}))
		w.Flush()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		s.log.Debug("connection closed by client", "pid", c.id.PID)
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.log.Debug("connection closed: idle timeout", "pid", c.id.PID, "timeout", s.cfg.IdleTimeout)
	case errors.Is(err, errNoCredentials):
		s.limiter.Warn("connection closed: request data carries no writer credentials, because the client connected before SO_PASSCRED was set on the socket", "pid", c.id.PID, "path", c.id.Path)
		s.audit(s.record(c, audit.EventRequest, nil, audit.ResultError, "no_writer_credentials"))
	case errors.Is(err, errForeignWriter):
		s.limiter.Warn("connection closed: a process other than the identified caller wrote to it", "pid", c.id.PID, "path", c.id.Path, "error", err)
		s.audit(s.record(c, audit.EventRequest, nil, audit.ResultDenied, "foreign_writer"))
	case c.evicted.Load():
		s.limiter.Info("idle connection closed to admit another", "pid", c.id.PID)
	case errors.Is(err, net.ErrClosed):
	default:
		s.limiter.Warn("connection closed: read failed", "pid", c.id.PID, "error", err)
	}
}

func (s *Server) audit(r audit.Record) {
	if err := s.cfg.Audit.Write(r); err != nil {
		s.limiter.Error("audit log write failed", "event", r.Event, "pid", r.PID, "error", err)
	}
}

func (s *Server) record(c *conn, event audit.Event, req *protocol.Request, result audit.Result, reason string) audit.Record {
	r := audit.Record{
		Event:      event,
		PID:        c.id.PID,
		UID:        int(c.id.UID),
		BinaryPath: c.id.Path,
		BinaryHash: c.id.Hash,
		Result:     result,
		Reason:     reason,
		VerifiedBy: c.verifiedBy,
		Signer:     c.signer,
	}
	if req != nil {
		r.Service = auditService(req.Service)
		r.Targets, r.TargetsOmitted = auditTargets(req.Targets)
		if req.Match == protocol.MatchPrefix {
			r.Match = string(req.Match)
		}
	}
	return r
}

// deadlineWriter sets the write deadline before every write, so that a
// client that stops reading can hold a connection for at most timeout per
// write, however the response reaches the socket.
type deadlineWriter struct {
	nc      net.Conn
	timeout time.Duration
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	d.nc.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.nc.Write(p)
}

// Bounds on the target names one audit record keeps. Without them, a
// caller with no rights at all could send denied requests of 1 MiB of
// names each and rotate the older history out of the log.
const (
	maxAuditTargets     = 64
	maxAuditTargetBytes = 8 << 10
)

// maxAuditServiceBytes bounds the service name kept in an audit record,
// for the same reason as the target bounds.
const maxAuditServiceBytes = 256

// auditService returns service, or for a longer name its first
// maxAuditServiceBytes bytes (cut at a character boundary) marked with the
// full length.
func auditService(service string) string {
	if len(service) <= maxAuditServiceBytes {
		return service
	}
	cut := maxAuditServiceBytes
	for cut > 0 && !utf8.RuneStart(service[cut]) {
		cut--
	}
	return fmt.Sprintf("%s...(%d bytes)", service[:cut], len(service))
}

// auditTargets returns the leading targets that fit the bounds and how
// many were left out.
func auditTargets(targets []string) ([]string, int) {
	size := 0
	for i, t := range targets {
		size += len(t)
		if i == maxAuditTargets || size > maxAuditTargetBytes {
			return targets[:i], len(targets) - i
		}
	}
	return targets, 0
}
