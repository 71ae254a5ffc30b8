package client

import (
	"context"
	"errors"
	"net"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// dialEndpoint opens the named pipe. DialPipeContext (go-winio v0.6.4) calls
// CreateFile with nil security attributes, so the handle is not inheritable
// by child processes, and with the anonymous impersonation level, so the
// daemon cannot impersonate the client. It retries while the pipe is busy
// until ctx ends.
func dialEndpoint(ctx context.Context, path string) (net.Conn, error) {
	return winio.DialPipeContext(ctx, path)
}

// isRefused reports whether err means no server listens on the pipe. A
// missing pipe is ERROR_FILE_NOT_FOUND, which matches fs.ErrNotExist, so no
// further code is needed.
func isRefused(err error) bool { return false }

// isReset reports whether err means the daemon closed its end of the pipe.
func isReset(err error) bool {
	return errors.Is(err, windows.ERROR_BROKEN_PIPE) || errors.Is(err, windows.ERROR_PIPE_NOT_CONNECTED)
}
