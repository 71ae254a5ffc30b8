//go:build !linux

package server

import (
	"errors"
	"io"
	"net"
)

var errForeignWriter = errors.New("request written by another process than the one that connected")

// errNoCredentials is never returned here; it exists for the shared code.
var errNoCredentials = errors.New("no credentials attached")

// enableWriterCredentials does nothing: only Linux tags stream data with
// the writer's credentials.
// NOTE: on macOS and Windows a process that hands a copy of its connection
// to a child and then execs a registered binary is not detected.
func enableWriterCredentials(ln net.Listener) error { return nil }

func newRequestReader(nc net.Conn, pid int) io.Reader { return nc }
