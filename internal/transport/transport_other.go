//go:build !unix && !windows

package transport

import (
	"net"
	"time"
)

func listen(opts Options) (Listener, error) { return nil, ErrNotSupported }

func dial(path string, timeout time.Duration) (net.Conn, error) { return nil, ErrNotSupported }
