package peercred

import "net"

// TODO: read LOCAL_PEERPID, LOCAL_PEERCRED and the audit token from
// LOCAL_PEERTOKEN; until then the daemon cannot identify callers on macOS.
type pin struct{}

func get(conn net.Conn) (*Cred, error) { return nil, ErrNotSupported }
func (c *Cred) verify() error          { return ErrNotSupported }
func (c *Cred) close() error           { return nil }
