// Command kca-bench measures the keychain-auth daemon against bare
// Unix-socket baselines and prints the figures of docs/BENCHMARKS.md.
//
// Usage:
//
//	go run ./cmd/kca-bench [-quick] [-daemon PATH] [-keep] [-cpuprofile FILE]
//
// One run builds the daemon (or takes -daemon) and creates a temporary
// installation. It starts the daemon with the vault backend and a bare echo
// server, and registers and grants a copy of this binary with the daemon's
// own CLI. Child processes running that copy then drive every figure. All
// sockets and files live in one temporary directory, which is removed at the
// end unless -keep is given.
//
// With -cpuprofile the daemon for the main figures runs inside a copy of
// this binary (the "daemon" subcommand) with the Go CPU profiler on, and the
// profile is written to FILE for "go tool pprof".
//
// The subcommands "echo", "worker" and "daemon" are the child processes.
// They are not meant to be run by hand.
//
// kca-bench exits with status 1 when the daemon answers any request with an
// error or a denial, or exits unexpectedly. Timing never fails the run: the
// figures are reported, not judged.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "echo":
			os.Exit(runEcho(os.Args[2:]))
		case "worker":
			os.Exit(runWorker(os.Args[2:]))
		case "daemon":
			os.Exit(runProfiledDaemon(os.Args[2:]))
		}
	}
	if err := runBench(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kca-bench:", err)
		os.Exit(1)
	}
}
