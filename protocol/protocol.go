// Package protocol defines the keychain-auth wire format: newline-delimited
// JSON requests and responses over a local stream socket or named pipe.
//
// It imports only the standard library so that clients can use it without
// pulling in the daemon. The decoder is strict: unknown fields, fields spelled
// in another case, duplicate keys, wrong JSON types and trailing data are all
// rejected, because existing clients rely on the daemon rejecting anything it
// does not fully understand.
package protocol

import "errors"

// MaxLineSize is the maximum length of one request or response line in bytes,
// excluding the terminating newline. Both the daemon and the Go client enforce it.
const MaxLineSize = 1 << 20

// Message types.
const (
	TypeRequest  = "REQUEST"
	TypeResponse = "RESPONSE"
)

// Action names a request's operation.
type Action string

// Actions a request may carry.
const (
	ActionRead   Action = "read"
	ActionWrite  Action = "write"
	ActionDelete Action = "delete"
	ActionSearch Action = "search"
)

// Match selects how targets are compared with stored keys.
type Match string

// Match modes. An empty Match in a decoded request means MatchExact.
const (
	MatchExact  Match = "exact"
	MatchPrefix Match = "prefix"
)

// Status is the outcome class of a response.
type Status string

// Response statuses.
const (
	StatusSuccess Status = "success"
	StatusDenied  Status = "denied"
	StatusError   Status = "error"
)

// Reason is the machine-readable code carried by every non-success response.
type Reason string

// Reason codes. This list is closed: clients branch on these exact strings.
const (
	ReasonUnregistered      Reason = "unregistered_binary_pending_approval"
	ReasonServiceNotAllowed Reason = "service_not_allowed"
	ReasonActionNotInPolicy Reason = "action_not_in_policy"
	ReasonMalformedRequest  Reason = "malformed_request"
	ReasonInternalError     Reason = "internal_error"
)

// Reasons lists every reason code in a stable order.
var Reasons = []Reason{
	ReasonUnregistered,
	ReasonServiceNotAllowed,
	ReasonActionNotInPolicy,
	ReasonMalformedRequest,
	ReasonInternalError,
}

// StatusOf returns the status that accompanies a reason code on the wire.
func StatusOf(r Reason) Status {
	switch r {
	case ReasonUnregistered, ReasonServiceNotAllowed, ReasonActionNotInPolicy:
		return StatusDenied
	default:
		return StatusError
	}
}

// Request is one decoded request line.
type Request struct {
	Type    string
	Action  Action
	Service string
	// Match is MatchExact when the field was absent.
	Match   Match
	Targets []string
	// Values is nil unless the request carried a "values" field.
	Values []string
	// Attributes is nil unless the request carried an "attributes" field.
	Attributes map[string]string
}

// Result is one entry of a response's results array.
type Result struct {
	Target string
	// Value is sent only when HasValue is true (successful reads).
	Value      string
	HasValue   bool
	Attributes map[string]string
}

// Response is one response line.
type Response struct {
	Status  Status
	Reason  Reason
	Results []Result
}

// ErrLineTooLong reports a line longer than MaxLineSize.
var ErrLineTooLong = errors.New("line exceeds the 1 MiB limit")

// DenialUnregistered is the exact line the daemon sends, unprompted, to a
// caller whose binary is neither registered nor signed by a trusted signer.
const DenialUnregistered = `{"type":"RESPONSE","status":"denied","reason":"unregistered_binary_pending_approval"}` + "\n"
