package peercred

import "net"

// TODO: use GetNamedPipeClientProcessId and a process handle held for
// the connection; until then the daemon cannot identify callers on Windows.
type pin struct{}

func get(conn net.Conn) (*Cred, error) { return nil, ErrNotSupported }
func (c *Cred) verify() error          { return ErrNotSupported }
func (c *Cred) close() error           { return nil }
