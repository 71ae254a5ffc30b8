//go:build unix && !linux

package transport

import "net"

// listenUnix creates a listening socket at path. Only Linux tags stream
// data with the writer's credentials, so there is no option to set first.
func listenUnix(path string) (*net.UnixListener, error) {
	return net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
}
