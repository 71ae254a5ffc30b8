// Package policy decides whether a registered binary may perform a request.
//
// Decisions are pure functions of the binary's config entry and the request,
// so they are cheap enough to make on every request against the current
// config: a revocation applies to connections that are already open.
package policy

import (
	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/protocol"
)

// Decision is the outcome of Authorize. Reason is empty when Allowed.
type Decision struct {
	Allowed bool
	Reason  protocol.Reason
}

var allow = Decision{Allowed: true}

func deny(r protocol.Reason) Decision { return Decision{Reason: r} }

// Authorize applies these rules, checking the service right before the
// search right:
//
//   - read and search need the service in allowed_read_services;
//   - write and delete need it in allowed_write_services;
//   - search, prefix read and prefix delete also need can_search for it.
//
// A nil entry (the registration was removed while the connection was open)
// has no rights at all.
func Authorize(b *config.Binary, req *protocol.Request) Decision {
	if b == nil {
		return deny(protocol.ReasonServiceNotAllowed)
	}
	svc := req.Service
	needsSearch := req.Action == protocol.ActionSearch || req.Match == protocol.MatchPrefix

	switch req.Action {
	case protocol.ActionRead, protocol.ActionSearch:
		if !b.CanRead(svc) {
			return deny(protocol.ReasonServiceNotAllowed)
		}
	case protocol.ActionWrite, protocol.ActionDelete:
		if !b.CanWrite(svc) {
			return deny(protocol.ReasonServiceNotAllowed)
		}
	default:
		return deny(protocol.ReasonMalformedRequest)
	}
	if needsSearch && !b.CanSearchIn(svc) {
		return deny(protocol.ReasonActionNotInPolicy)
	}
	return allow
}
