// Package policy decides whether a registered binary may perform a request.
//
// Decisions are pure functions of the binary's config entry, the caller and
// the request, so they are cheap enough to make on every request against
// the current config: a revocation applies to connections that are already
// open.
//
// An entry's uids list restricts which user IDs it serves. A non-empty list
// serves exactly the listed UIDs in either mode. An empty list serves the
// daemon's owner in user mode (the transport rejects every other UID there)
// and nobody in system mode, where any local user can connect: a binary
// installed for everyone, such as /usr/bin/aws, must not hand one user's
// secrets to every other user because nobody wrote a uids list.
package policy

import (
	"slices"

	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/paths"
	"github.com/keychain-auth/keychain-auth/protocol"
)

// Caller is the peer of a connection as the kernel reported it, and the
// mode the daemon runs in.
type Caller struct {
	UID  uint32
	Mode paths.Mode
}

// ServesUID reports whether entry b may be used by a caller with uid in
// the given mode (see the package documentation for the empty list).
func ServesUID(b *config.Binary, mode paths.Mode, uid uint32) bool {
	if len(b.UIDs) > 0 {
		return slices.Contains(b.UIDs, uid)
	}
	return mode != paths.ModeSystem
}

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
//   - the entry must serve the caller's UID (see ServesUID), else every
//     request is service_not_allowed, because the wire protocol has no
//     separate code and an unlisted user has no right to any service;
//   - read and search need the service in allowed_read_services;
//   - write and delete need it in allowed_write_services;
//   - search, prefix read and prefix delete also need can_search for it.
//
// A nil entry (the registration was removed while the connection was open)
// has no rights at all.
func Authorize(b *config.Binary, caller Caller, req *protocol.Request) Decision {
	if b == nil || !ServesUID(b, caller.Mode, caller.UID) {
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
