//go:build !linux

package transport

// Activated reports that no socket was passed: systemd socket activation
// exists only on Linux.
// TODO: launchd sockets (launch_activate_socket) on macOS.
func Activated(opts Options) (ln Listener, ok bool, err error) {
	return nil, false, nil
}
