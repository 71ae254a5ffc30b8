// Package peercred queries the kernel for the process on the other end of a
// local connection.
//
// Nothing the client sends is trusted: the PID and UID come from the socket
// (SO_PEERCRED on Linux, LOCAL_PEERCRED/LOCAL_PEERPID on macOS) or the pipe
// (GetNamedPipeClientProcessId on Windows). Where the kernel offers a handle
// that pins the process (a pidfd on Linux, a process handle on Windows),
// Cred holds it so that Verify can tell the original process from a later
// one that reused its PID.
package peercred

import (
	"errors"
	"net"
)

// ErrNotSupported is returned on platforms without a peer credential
// implementation.
var ErrNotSupported = errors.New("peer credentials are not supported on this platform")

// ErrOtherUser reports a peer that runs as another user where Get itself
// enforces the same-user rule (Windows, which has no numeric UID to compare).
var ErrOtherUser = errors.New("peer runs as another user")

// ErrForeignNamespace reports a peer in another PID or user namespace than
// the daemon's. A process that owns its user namespace may put any PID of
// its PID namespace in the credentials it sends, so such peers could
// impersonate another process to the per-request writer check.
var ErrForeignNamespace = errors.New("peer runs in another PID or user namespace than the daemon")

// ErrProcessGone reports that the peer process exited or was replaced.
var ErrProcessGone = errors.New("peer process exited or was replaced")

// Cred identifies the process that opened a connection.
type Cred struct {
	PID int
	// UID is the peer's user ID. Windows has no numeric user IDs: there it is
	// always ^uint32(0), the value os.Geteuid returns there, and SID holds
	// the identity.
	UID uint32
	// SID is the string form of the peer's user SID on Windows, and empty
	// elsewhere. Get on Windows rejects a peer whose SID is not the daemon's.
	SID string
	// pin holds the platform's handle on the process; see the per-OS files.
	pin pin
}

// Get returns the credentials of conn's peer. The caller must Close the
// result to release the process handle.
func Get(conn net.Conn) (*Cred, error) {
	return get(conn)
}

// Verify returns nil if the peer process is still the one that connected.
// Call it after slow work (hashing the executable) so that a process that
// exited, and a PID that was reused meanwhile, are both detected.
func (c *Cred) Verify() error {
	return c.verify()
}

// Close releases the process handle.
func (c *Cred) Close() error {
	return c.close()
}
