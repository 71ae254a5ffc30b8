package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
)

// runEcho serves the baseline: every line received on a connection is
// written back unchanged, with the same line framing the daemon uses. It
// stops on SIGINT or SIGTERM.
func runEcho(args []string) int {
	fs := flag.NewFlagSet("echo", flag.ExitOnError)
	socket := fs.String("socket", "", "Unix socket path to listen on")
	fs.Parse(args)
	if *socket == "" {
		fmt.Fprintln(os.Stderr, "kca-bench echo: -socket is required")
		return 2
	}

	ln, err := net.Listen("unix", *socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kca-bench echo:", err)
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		ln.Close()
	}()

	fmt.Fprintln(os.Stderr, "listening on", *socket)
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return 0
			}
			fmt.Fprintln(os.Stderr, "kca-bench echo: accept:", err)
			return 1
		}
		go echoLines(c)
	}
}

// echoLines mirrors the daemon's connection loop without any of its work:
// read a line, write it back, flush when no further request is buffered.
func echoLines(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 4<<10)
	w := bufio.NewWriterSize(c, 4<<10)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Long lines are copied through in pieces.
			if _, err := w.Write(line); err != nil {
				return
			}
			continue
		}
		if err != nil {
			return
		}
		if _, err := w.Write(line); err != nil {
			return
		}
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}
