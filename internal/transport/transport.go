// Package transport creates the daemon's local endpoint and dials it.
//
// On Unix the endpoint is a stream socket whose directory is 0700 and whose
// file is 0600 from the moment it exists (user mode), or 0666 inside a 0755
// directory (Linux system mode, where peer credentials still identify every
// caller). A lock file held for the daemon's lifetime makes "another daemon
// is running" a fact rather than a guess, and a socket file left by a crashed
// daemon is removed only when that lock is free and nothing responds.
package transport

import (
	"errors"
	"net"
	"time"

	"github.com/keychain-auth/keychain-auth/paths"
)

// ErrAlreadyRunning reports that another daemon holds the endpoint.
var ErrAlreadyRunning = errors.New("another keychain-auth daemon is already running")

// ErrNotSupported is returned where no transport is implemented yet.
var ErrNotSupported = errors.New("transport is not supported on this platform")

// ProbeTimeout bounds how long a liveness probe waits for a connection.
const ProbeTimeout = time.Second

// Options configure Listen.
type Options struct {
	Path string
	Mode paths.Mode
}

// Listener is the daemon's endpoint. Close stops accepting, removes the
// socket file and releases the lock.
type Listener interface {
	net.Listener
	// Path returns the socket path or pipe name.
	Path() string
}

// Listen creates the endpoint described by opts.
func Listen(opts Options) (Listener, error) {
	return listen(opts)
}

// Probe reports whether a daemon responds at path. It keeps the connection
// open until the daemon closes it, so the daemon can identify the prober
// (a process exiting right after connecting would look like an attack).
func Probe(path string) bool {
	c, err := dial(path, ProbeTimeout)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(ProbeTimeout))
	var buf [512]byte
	for {
		if _, err := c.Read(buf[:]); err != nil {
			return true
		}
	}
}
