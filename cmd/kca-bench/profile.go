package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/keychain-auth/keychain-auth/internal/cli"
)

// runProfiledDaemon runs the keychain-auth command line given after the
// flags in this process, with the CPU profiler writing to -cpuprofile until
// the command returns (the daemon stops on SIGTERM).
func runProfiledDaemon(args []string) int {
	fs := flag.NewFlagSet("daemon", flag.ExitOnError)
	profile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	fs.Parse(args)
	if *profile == "" {
		fmt.Fprintln(os.Stderr, "kca-bench daemon: -cpuprofile is required")
		return 2
	}

	f, err := os.Create(*profile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kca-bench daemon:", err)
		return 1
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "kca-bench daemon:", err)
		return 1
	}
	code := cli.Run(&cli.App{}, fs.Args())
	pprof.StopCPUProfile()
	return code
}
