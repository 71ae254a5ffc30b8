package daemon

import (
	"log/slog"

	"github.com/keychain-auth/keychain-auth/internal/transport"
	"github.com/keychain-auth/keychain-auth/paths"
)

// listen returns the socket systemd passed to the daemon (socket
// activation through LISTEN_FDS and LISTEN_PID), or else creates it.
func listen(l paths.Layout, log *slog.Logger) (transport.Listener, error) {
	opts := transport.Options{Path: l.Socket, Mode: l.Mode}
	ln, ok, err := transport.Activated(opts)
	if err != nil {
		return nil, err
	}
	if ok {
		log.Info("using the socket passed by systemd (socket activation)", "socket", ln.Path())
		return ln, nil
	}
	return transport.Listen(opts)
}
