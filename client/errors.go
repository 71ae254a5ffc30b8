package client

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/keychain-auth/keychain-auth/protocol"
)

// Sentinel errors, one per reason code the daemon sends. Test for them with
// errors.Is; the error itself is an *Error carrying the details.
var (
	ErrUnregistered      = errors.New("binary not registered, pending approval")
	ErrServiceNotAllowed = errors.New("service not allowed")
	ErrActionNotInPolicy = errors.New("action not in policy")
	ErrMalformedRequest  = errors.New("malformed request")
	ErrInternal          = errors.New("daemon internal error")
)

// ErrDaemonNotRunning reports that nothing listens on the endpoint: the
// socket file does not exist or refuses connections.
var ErrDaemonNotRunning = errors.New("keychain-auth daemon is not running")

// ErrClosed reports a call on a Client after Close.
var ErrClosed = errors.New("client is closed")

// sentinelFor returns the sentinel for a reason code, or nil for a code this
// version of the package does not know.
func sentinelFor(r protocol.Reason) error {
	switch r {
	case protocol.ReasonUnregistered:
		return ErrUnregistered
	case protocol.ReasonServiceNotAllowed:
		return ErrServiceNotAllowed
	case protocol.ReasonActionNotInPolicy:
		return ErrActionNotInPolicy
	case protocol.ReasonMalformedRequest:
		return ErrMalformedRequest
	case protocol.ReasonInternalError:
		return ErrInternal
	}
	return nil
}

// Error is a response from the daemon whose status is not success. It wraps
// the sentinel for its reason code.
type Error struct {
	// Action and Service are copied from the request.
	Action  protocol.Action
	Service string
	Status  protocol.Status
	Reason  protocol.Reason
	// Hash is the SHA-256 of this program's executable ("sha256:" and 64 hex
	// digits), set only for ReasonUnregistered and empty when it could not be
	// computed. It is informational: the daemon hashes the file the kernel
	// reports for the connected process, which "keychain-auth list-pending"
	// shows, and that can differ (for example when the binary was replaced
	// after it started).
	Hash string
	// Path is this program's executable path with symlinks resolved, for
	// the grant command in the message; empty when it cannot be found.
	Path string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q: %s: %s", e.Action, e.Service, e.Status, e.Reason)
	switch e.Reason {
	case protocol.ReasonUnregistered:
		hash := e.Hash
		if hash == "" {
			hash = "<hash>"
		}
		fmt.Fprintf(&b, `; this program is waiting for approval: review it with "keychain-auth list-pending", then run "keychain-auth approve %s"`, hash)
	case protocol.ReasonServiceNotAllowed:
		flag := "--read"
		if e.Action == protocol.ActionWrite || e.Action == protocol.ActionDelete {
			flag = "--write"
		}
		fmt.Fprintf(&b, `; grant it with "keychain-auth grant %s %s %s"`, e.pathOrPlaceholder(), flag, e.Service)
	case protocol.ReasonActionNotInPolicy:
		fmt.Fprintf(&b, `; prefix reads, prefix deletes and search need the search right ("keychain-auth grant %s --search")`, e.pathOrPlaceholder())
	case protocol.ReasonInternalError:
		b.WriteString("; the daemon's secret store or audit log failed, see the daemon's log")
	}
	return b.String()
}

func (e *Error) pathOrPlaceholder() string {
	if e.Path == "" {
		return "<path>"
	}
	return e.Path
}

// Unwrap returns the sentinel for e.Reason, or nil for an unknown code.
func (e *Error) Unwrap() error { return sentinelFor(e.Reason) }

// executableHash returns "sha256:" and the hex SHA-256 of the running
// executable, or "" when it cannot be read.
// executablePath returns the running executable's path with symlinks
// resolved, as the daemon records it, or "" when it cannot be found.
func executablePath() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		return p
	}
	return exe
}

func executableHash() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	f, err := os.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()

	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// notRunningError builds the dial error for a missing or refusing socket.
func notRunningError(socket string, cause error) error {
	return fmt.Errorf(`dial %q: %w (%w); start it with "keychain-auth start"`, socket, ErrDaemonNotRunning, cause)
}
