package server

import (
	"context"
	"errors"
	"maps"

	"github.com/keychain-auth/keychain-auth/internal/audit"
	"github.com/keychain-auth/keychain-auth/internal/identity"
	"github.com/keychain-auth/keychain-auth/internal/policy"
	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/protocol"
)

// errAudit marks a failure to write the audit record, which refuses the request.
var errAudit = errors.New("audit log write failed")

// handleLine handles one request line. It returns the encoded response and
// whether the connection stays open.
func (s *Server) handleLine(ctx context.Context, c *conn, line []byte) ([]byte, bool) {
	// The identity is fixed at connect, so the process behind it must still
	// be the same one running the same file: one that exec'd another
	// program, or exited and left the connection to a child, loses it.
	if err := identity.Recheck(c.cred, c.id); err != nil {
		s.limiter.Warn("connection closed: peer process exited or runs another executable", "pid", c.id.PID, "path", c.id.Path, "error", err)
		s.audit(s.record(c, audit.EventRequest, nil, audit.ResultDenied, "peer_process_changed"))
		return []byte(protocol.DenialUnregistered), false
	}

	req, err := protocol.DecodeRequest(line)
	if err != nil {
		s.limiter.Info("malformed request", "pid", c.id.PID, "error", err)
		if err := s.cfg.Audit.Write(s.record(c, audit.EventRequest, nil, audit.ResultError, string(protocol.ReasonMalformedRequest))); err != nil {
			s.limiter.Error("audit log write failed", "pid", c.id.PID, "error", err)
			return internalErrorLine, true
		}
		return errorResponse(protocol.ReasonMalformedRequest), true
	}

	event := audit.Event(req.Action)
	cfg := s.cfg.Policy.Current()
	entry := cfg.Lookup(c.id.Path, c.id.Hash)
	if !s.signedEntryUsable(c, cfg, entry) {
		entry = nil
	}
	decision := policy.Authorize(entry, policy.Caller{UID: c.id.UID, Mode: s.cfg.Mode}, req)
	if !decision.Allowed {
		if err := s.cfg.Audit.Write(s.record(c, event, req, audit.ResultDenied, string(decision.Reason))); err != nil {
			s.limiter.Error("audit log write failed", "pid", c.id.PID, "error", err)
			return internalErrorLine, true
		}
		s.limiter.Info("request denied", "pid", c.id.PID, "path", c.id.Path, "action", req.Action, "service", req.Service, "reason", decision.Reason)
		return errorResponse(decision.Reason), true
	}

	// The record is written before the store is touched: no unaudited access.
	if err := s.cfg.Audit.Write(s.record(c, event, req, audit.ResultGranted, "")); err != nil {
		s.limiter.Error("request rejected: audit log write failed", "pid", c.id.PID, "error", err)
		return internalErrorLine, true
	}

	results, err := s.performWithDeadline(ctx, req)
	if err != nil {
		s.limiter.Error("secret store failed", "pid", c.id.PID, "action", req.Action, "service", req.Service, "error", err)
		s.audit(s.record(c, event, req, audit.ResultError, string(protocol.ReasonInternalError)))
		return internalErrorLine, true
	}
	return protocol.AppendResponse(make([]byte, 0, 256), &protocol.Response{Status: protocol.StatusSuccess, Results: results}), true
}

// inProcessStore is implemented by stores whose calls never wait on another
// process. Such a store checks the context only before it starts, so a
// per-request deadline would cost a timer and change nothing.
type inProcessStore interface {
	InProcess() bool
}

// performWithDeadline runs perform under StoreTimeout, except for stores
// that run in process.
func (s *Server) performWithDeadline(ctx context.Context, req *protocol.Request) ([]protocol.Result, error) {
	if st, ok := s.cfg.Store.(inProcessStore); ok && st.InProcess() {
		return s.perform(ctx, req)
	}
	sctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
	defer cancel()
	return s.perform(sctx, req)
}

func errorResponse(r protocol.Reason) []byte {
	return protocol.AppendResponse(nil, &protocol.Response{Status: protocol.StatusOf(r), Reason: r})
}

// perform runs an authorized request against the store.
func (s *Server) perform(ctx context.Context, req *protocol.Request) ([]protocol.Result, error) {
	st := s.cfg.Store
	switch req.Action {
	case protocol.ActionRead:
		var items []store.Item
		var err error
		if req.Match == protocol.MatchPrefix {
			items, err = st.List(ctx, req.Service, store.Query{Prefixes: req.Targets, Attributes: req.Attributes, WithValues: true})
		} else {
			items, err = st.Get(ctx, req.Service, req.Targets)
			items = filterAttributes(items, req.Attributes)
		}
		if err != nil {
			return nil, err
		}
		return toResults(items, true), nil

	case protocol.ActionSearch:
		items, err := st.List(ctx, req.Service, store.Query{Prefixes: req.Targets, Attributes: req.Attributes})
		if err != nil {
			return nil, err
		}
		return toResults(items, false), nil

	case protocol.ActionWrite:
		items := make([]store.Item, len(req.Targets))
		for i, t := range req.Targets {
			items[i] = store.Item{Target: t, Value: []byte(req.Values[i])}
			if len(req.Attributes) > 0 {
				items[i].Attributes = maps.Clone(req.Attributes)
			}
		}
		return nil, st.Put(ctx, req.Service, items)

	case protocol.ActionDelete:
		targets := req.Targets
		if req.Match == protocol.MatchPrefix || len(req.Attributes) > 0 {
			var items []store.Item
			var err error
			if req.Match == protocol.MatchPrefix {
				items, err = st.List(ctx, req.Service, store.Query{Prefixes: req.Targets, Attributes: req.Attributes})
			} else {
				items, err = st.Get(ctx, req.Service, req.Targets)
				items = filterAttributes(items, req.Attributes)
			}
			if err != nil {
				return nil, err
			}
			targets = make([]string, len(items))
			for i, it := range items {
				targets[i] = it.Target
			}
		}
		if len(targets) == 0 {
			return nil, nil
		}
		return nil, st.Delete(ctx, req.Service, targets)
	}
	return nil, errors.New("unknown action")
}

// filterAttributes keeps items carrying every given attribute.
func filterAttributes(items []store.Item, attrs map[string]string) []store.Item {
	if len(attrs) == 0 {
		return items
	}
	kept := items[:0]
	for _, it := range items {
		if store.MatchesQuery(it.Target, it.Attributes, store.Query{Attributes: attrs}) {
			kept = append(kept, it)
		}
	}
	return kept
}

func toResults(items []store.Item, withValues bool) []protocol.Result {
	if len(items) == 0 {
		return nil
	}
	out := make([]protocol.Result, len(items))
	for i, it := range items {
		out[i] = protocol.Result{Target: it.Target, Attributes: it.Attributes}
		if withValues {
			out[i].Value = string(it.Value)
			out[i].HasValue = true
		}
	}
	return out
}
