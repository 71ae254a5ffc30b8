//go:build !unix

package transport

import (
	"net"
	"time"
)

// TODO: a named pipe listener for Windows through go-winio.
func listen(opts Options) (Listener, error) { return nil, ErrNotSupported }

func dial(path string, timeout time.Duration) (net.Conn, error) { return nil, ErrNotSupported }
