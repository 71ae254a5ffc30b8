// Package audit writes and checks the daemon's audit log: one JSON Lines
// record per connection decision and per request, hash-chained so that an
// edited, removed, reordered or torn record is found by Verify.
//
// Guarantees:
//   - A Record has no field for a secret value, so no value can reach the log
//     through this package. Targets (key names) and reason codes are logged.
//   - Write hands each record to the kernel with one write call and returns
//     an error unless the whole line was written, so the caller can reject the
//     request it was about to perform (fail closed).
//   - Every record carries seq (1, 2, 3, ... across rotations) and prev, the
//     hex SHA-256 of the previous record's line without its newline. The first
//     record ever has 64 zeros as prev.
//   - Rotation by size renames audit.log to audit.log.1 (and .1 to .2, ...)
//     and the first record of the new file continues the chain.
//
// Limits:
//   - The chain has no key. Anyone who can write the files can rewrite the
//     whole chain consistently, and removing whole records from the end of
//     the current file leaves a valid chain. To detect either, compare the
//     last seq and hash (Log.Last, Report.LastSeq, Report.LastHash) with a
//     copy kept elsewhere, such as the daemon's diagnostic log.
//   - Records are not synced to disk one by one (see Log.Write). A record
//     that Write accepted survives a crash of the daemon but not necessarily a
//     power loss.
//   - Only one Log may write a directory at a time. Two processes appending
//     to the same file would fork the chain.
//   - On Windows the file mode bits are ignored; the files inherit the ACL of
//     the directory, which for %LOCALAPPDATA% is private to the user.
package audit

import (
	"fmt"
	"time"
)

// Event is the kind of action a record describes.
type Event string

// Events.
const (
	EventConnect Event = "connect"
	EventRead    Event = "read"
	EventWrite   Event = "write"
	EventDelete  Event = "delete"
	EventSearch  Event = "search"
	// EventRequest records a request line that could not be decoded, so
	// its action is unknown.
	EventRequest Event = "request"
)

// Result is the outcome of a connection decision or request.
type Result string

// Results. A connection decision is ACCEPTED or DENIED, and a request is
// GRANTED or DENIED. ERROR means the daemon failed to perform the request.
const (
	ResultAccepted Result = "ACCEPTED"
	ResultDenied   Result = "DENIED"
	ResultGranted  Result = "GRANTED"
	ResultError    Result = "ERROR"
)

// Verification is the method by which the daemon identified the calling binary.
type Verification string

// Verifications.
const (
	VerifiedByHash      Verification = "hash"
	VerifiedBySignature Verification = "signature"
)

// Record is one line of the audit log. It deliberately has no field for a
// secret value. Reason carries a reason code, never request data.
type Record struct {
	// Time is when the event happened, written in UTC with nanoseconds.
	// Write sets it to the current time when it is zero.
	Time       time.Time    `json:"time"`
	Seq        uint64       `json:"seq"`  // set by Write
	Prev       string       `json:"prev"` // set by Write
	Event      Event        `json:"event"`
	PID        int          `json:"pid"`
	UID        int          `json:"uid"`
	BinaryPath string       `json:"binary_path"`
	BinaryHash string       `json:"binary_hash"`
	VerifiedBy Verification `json:"verified_by,omitempty"`
	// Signer is the base64 public key of the trusted signer when the binary
	// was accepted by signature.
	Signer  string   `json:"signer,omitempty"`
	Service string   `json:"service"`
	Match   string   `json:"match,omitempty"` // "exact" or "prefix"
	Targets []string `json:"targets"`
	// TargetsOmitted counts request targets left out of Targets because the
	// request named more than a record keeps.
	TargetsOmitted int    `json:"targets_omitted,omitempty"`
	Result         Result `json:"result"`
	Reason         string `json:"reason"`
}

// validate rejects a record whose event or result is not one of the
// documented values, because Verify and Read rely on them.
func (r *Record) validate() error {
	switch r.Event {
	case EventConnect, EventRead, EventWrite, EventDelete, EventSearch, EventRequest:
	default:
		return fmt.Errorf("invalid event %q", r.Event)
	}
	switch r.Result {
	case ResultAccepted, ResultDenied, ResultGranted, ResultError:
	default:
		return fmt.Errorf("invalid result %q", r.Result)
	}
	switch r.VerifiedBy {
	case "", VerifiedByHash, VerifiedBySignature:
	default:
		return fmt.Errorf("invalid verified_by %q", r.VerifiedBy)
	}
	return nil
}
