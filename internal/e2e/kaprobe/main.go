// Command kaprobe is the attack and load client of the end-to-end tests.
// Like kaclient it runs as a real child process, so the daemon identifies it
// from peer credentials, but each mode plays one hostile or heavy caller:
//
//	kaprobe load -socket S -conns N -requests M -keys K -service SVC
//	    opens N connections, prints "connected", waits for a line on
//	    standard input, sends M reads on each connection and checks every
//	    response against its request, prints "done", then holds the
//	    connections open until standard input closes.
//	kaprobe inherit -socket S -exec PATH [-keep-fd] [-in-place] -line REQ
//	    reads one secret to prove the connection is authenticated, then runs
//	    PATH (fork and exec, or exec in place) as "kaprobe use-fd", which
//	    tries to send REQ on the inherited descriptor.
//	kaprobe use-fd -fd N -line REQ [-delay D]
//	    sends REQ on descriptor N and prints the response, or "no-fd".
//	kaprobe borrow -socket S -exec PATH -line REQ [-delay D]
//	    connects without sending, forks a child that sends REQ on the
//	    inherited descriptor after D, and execs PATH (a registered program,
//	    run with the argument "3") in place.
//	kaprobe late -socket S -line REQ
//	    waits for a line on standard input, then connects, sends REQ and
//	    prints the response.
//	kaprobe argv -socket S -fake TEXT
//	    overwrites its own argument memory with TEXT, then connects and
//	    prints the first response line.
//
// Every mode exits 0 when it could run and prints its findings to standard
// output; failures of the probe itself go to standard error with status 1.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kaprobe load|inherit|use-fd|borrow|late|argv [flags]")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "kaprobe:", err)
		os.Exit(1)
	}
}
