//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || solaris || windows)

package client

import (
	"context"
	"fmt"
	"net"
	"runtime"
)

// dialEndpoint reports that this platform has no close-on-exec dialer.
func dialEndpoint(ctx context.Context, path string) (net.Conn, error) {
	return nil, fmt.Errorf("dial %q: not supported on %s", path, runtime.GOOS)
}

func isRefused(err error) bool { return false }

func isReset(err error) bool { return false }
