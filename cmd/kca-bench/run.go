package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// sizes of the whole figure set; -quick divides the work for CI.
type sizes struct {
	roundTrips   int
	connects     int
	coldSamples  int
	prefixReads  int
	batchWrites  int
	loadDuration time.Duration
	noCacheConns int
	idleConns    int
}

var (
	fullSizes = sizes{
		roundTrips: 20_000, connects: 2_000, coldSamples: 5, prefixReads: 50, batchWrites: 50,
		loadDuration: 10 * time.Second, noCacheConns: 100, idleConns: 1_000,
	}
	quickSizes = sizes{
		roundTrips: 3_000, connects: 300, coldSamples: 2, prefixReads: 10, batchWrites: 10,
		loadDuration: 2 * time.Second, noCacheConns: 20, idleConns: 1_000,
	}
)

// Workload shape shared by the figures.
const (
	bulkKeys = 10_000
	// loadProcs × loadConnsPerProc concurrent connections for throughput.
	loadProcs        = 4
	loadConnsPerProc = 16
	// loadDepth is the number of pipelined requests per connection.
	loadDepth = 16
	// idleConnsPerProc stays within the daemon's default per-process cap.
	idleConnsPerProc = 32
	mediumSize       = 15 << 20
	largeSize        = 100 << 20
)

func runBench(args []string) error {
	fs := flag.NewFlagSet("kca-bench", flag.ExitOnError)
	quick := fs.Bool("quick", false, "smaller sample counts and shorter load (about 30 s, for CI)")
	daemonBin := fs.String("daemon", "", "keychain-auth binary to measure (default: go build ./cmd/keychain-auth)")
	keep := fs.Bool("keep", false, "keep the temporary directory with the daemon logs")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the daemon during the main figures to this file")
	fs.Parse(args)
	sz := fullSizes
	if *quick {
		sz = quickSizes
	}

	dir, err := os.MkdirTemp("", "kca-bench-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "kca-bench: keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	in, err := prepare(dir, *daemonBin)
	if err != nil {
		return err
	}
	if *profile != "" {
		if err := in.prepareProfile(*profile); err != nil {
			return err
		}
	}
	rep := &report{quick: *quick}
	if err := measure(in, sz, rep); err != nil {
		return err
	}
	rep.print(os.Stdout)
	return nil
}

// prepare builds or copies the binaries into dir and registers the client
// copies with full rights on the bench service.
func prepare(dir, daemonBin string) (*install, error) {
	in := &install{
		dir:       dir,
		configDir: filepath.Join(dir, "config"),
		socket:    filepath.Join(dir, "run", "agent.sock"),
		echoSock:  filepath.Join(dir, "run", "echo.sock"),
		client:    filepath.Join(dir, "bin", "kca-bench"),
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o700); err != nil {
		return nil, err
	}

	in.daemonBin = daemonBin
	if in.daemonBin == "" {
		in.daemonBin = filepath.Join(dir, "bin", "keychain-auth")
		fmt.Fprintln(os.Stderr, "kca-bench: building the daemon")
		cmd := exec.Command("go", "build", "-o", in.daemonBin, "github.com/keychain-auth/keychain-auth/cmd/keychain-auth")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("build the daemon (run from the repository or pass -daemon): %w", err)
		}
	}

	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	for path, size := range map[string]int64{in.client: 0, in.medium(): mediumSize, in.large(): largeSize} {
		if err := copyPadded(self, path, size); err != nil {
			return nil, err
		}
		if err := in.cli("register", path); err != nil {
			return nil, err
		}
		if err := in.cli("grant", path, "--read", benchService, "--write", benchService, "--search"); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// prepareProfile makes the copy of this binary that runs the profiled
// daemon. The copy is padded so that its hash differs from the clients':
// the daemon closes connections from its own executable without a response.
func (in *install) prepareProfile(profile string) error {
	abs, err := filepath.Abs(profile)
	if err != nil {
		return err
	}
	fi, err := os.Stat(in.client)
	if err != nil {
		return err
	}
	in.profile = abs
	in.profiledBin = filepath.Join(in.dir, "bin", "kca-bench-daemon")
	return copyPadded(in.client, in.profiledBin, fi.Size()+4096)
}

func (in *install) medium() string { return filepath.Join(in.dir, "bin", "kca-bench-15mb") }
func (in *install) large() string  { return filepath.Join(in.dir, "bin", "kca-bench-100mb") }

// copyPadded copies the executable src to dst and appends zero bytes up to
// size (0 means no padding). The kernel ignores bytes past the ELF
// segments, so the copy runs like the original but hashes differently.
func copyPadded(src, dst string, size int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, in)
	if err == nil && size > n {
		err = out.Truncate(size)
	}
	if closeErr := out.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("copy %q to %q: %w", src, dst, err)
	}
	return nil
}

// measure runs every figure in order and fills rep.
func measure(in *install, sz sizes, rep *report) error {
	echo, err := in.startEcho()
	if err != nil {
		return err
	}
	defer echo.stop()

	d, err := in.startDaemon("daemon", true)
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			d.stop()
		}
	}()

	step("seeding %d keys", bulkKeys)
	if _, err := in.runWorkerProc(in.client, "-mode", "seed", "-socket", in.socket, "-keys", strconv.Itoa(bulkKeys)); err != nil {
		return err
	}
	if err := exactRead(in, sz, rep); err != nil {
		return err
	}
	if err := connectRead(in, sz, rep); err != nil {
		return err
	}
	if err := coldIdentity(in, sz, rep); err != nil {
		return err
	}
	if err := prefixAndWrite(in, sz, rep); err != nil {
		return err
	}
	if err := throughput(in, sz, rep); err != nil {
		return err
	}
	stopped = true
	if err := d.stop(); err != nil {
		return err
	}

	if err := noHashCache(in, sz, rep); err != nil {
		return err
	}
	return memory(in, sz, rep)
}

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kca-bench: "+format+"\n", args...)
}

// rounds splits the ratio figures into alternating daemon and echo runs,
// so that a slow phase of a shared machine affects both sides alike.
const rounds = 4

// alternate runs the same worker arguments against the daemon and the echo
// server, rounds times each, and returns both sets of latencies.
func (in *install) alternate(bin string, n int, args ...string) (daemon, echo []int64, err error) {
	per := strconv.Itoa(max(1, n/rounds))
	for range rounds {
		d, err := in.runWorkerProc(bin, append([]string{"-socket", in.socket, "-n", per}, args...)...)
		if err != nil {
			return nil, nil, err
		}
		e, err := in.runWorkerProc(bin, append([]string{"-socket", in.echoSock, "-echo", "-n", per}, args...)...)
		if err != nil {
			return nil, nil, err
		}
		daemon, echo = append(daemon, d.Latencies...), append(echo, e.Latencies...)
	}
	return daemon, echo, nil
}

func exactRead(in *install, sz sizes, rep *report) error {
	step("exact read on an open connection, %d round trips each", sz.roundTrips)
	daemon, echo, err := in.alternate(in.client, sz.roundTrips, "-mode", "rtt", "-request", "read", "-warmup", "500")
	if err != nil {
		return err
	}
	rep.readRTT, rep.echoRTT = summarize(daemon), summarize(echo)
	return nil
}

func connectRead(in *install, sz sizes, rep *report) error {
	step("connect, identity check, one read, close with the 15 MB client, %d connections each", sz.connects)
	daemon, echo, err := in.alternate(in.medium(), sz.connects, "-mode", "connect", "-request", "read", "-warmup", "50")
	if err != nil {
		return err
	}
	rep.connect, rep.echoConnect = summarize(daemon), summarize(echo)
	return nil
}

// coldIdentity measures the first connection of a new version of the
// 100 MB client, whose hash the daemon has not cached, against SHA-256 of
// the same bytes in memory. Setting the file times gives each sample a new
// file identity (the cache key) without changing the registered hash.
func coldIdentity(in *install, sz sizes, rep *report) error {
	step("cold identity check of the 100 MB client, %d samples", sz.coldSamples)
	data, err := os.ReadFile(in.large())
	if err != nil {
		return err
	}
	var shaTimes []int64
	for range 5 {
		start := time.Now()
		sha256.Sum256(data)
		shaTimes = append(shaTimes, int64(time.Since(start)))
	}
	rep.sha256InMemory = summarize(shaTimes)
	data = nil

	var cold []int64
	for i := range sz.coldSamples {
		stamp := time.Now().Add(time.Duration(i+1) * time.Second)
		if err := os.Chtimes(in.large(), stamp, stamp); err != nil {
			return err
		}
		res, err := in.runWorkerProc(in.large(), "-mode", "connect", "-socket", in.socket, "-request", "read", "-n", "1", "-warmup", "0")
		if err != nil {
			return err
		}
		cold = append(cold, res.Latencies...)
	}
	warm, err := in.runWorkerProc(in.large(), "-mode", "connect", "-socket", in.socket, "-request", "read", "-n", "200", "-warmup", "10")
	if err != nil {
		return err
	}
	rep.coldConnect, rep.warmLargeConnect = summarize(cold), summarize(warm.Latencies)
	return nil
}

func prefixAndWrite(in *install, sz sizes, rep *report) error {
	step("prefix read of %d keys, %d round trips", bulkKeys, sz.prefixReads)
	prefix, err := in.runWorkerProc(in.client, "-mode", "rtt", "-socket", in.socket, "-request", "prefix",
		"-expect", strconv.Itoa(bulkKeys), "-n", strconv.Itoa(sz.prefixReads), "-warmup", "3")
	if err != nil {
		return err
	}
	rep.prefix = summarize(prefix.Latencies)

	step("batch write of %d keys, %d round trips", batchSize, sz.batchWrites)
	write, err := in.runWorkerProc(in.client, "-mode", "rtt", "-socket", in.socket, "-request", "write",
		"-n", strconv.Itoa(sz.batchWrites), "-warmup", "3")
	if err != nil {
		return err
	}
	rep.write = summarize(write.Latencies)
	return nil
}

// throughput runs loadProcs worker processes with loadConnsPerProc
// connections each, first pipelining loadDepth requests per connection,
// then one request at a time, against the daemon and then the echo server.
func throughput(in *install, sz sizes, rep *report) error {
	for _, depth := range []int{loadDepth, 1} {
		step("reads per second over %d connections from %d processes, %d in flight per connection, %v",
			loadProcs*loadConnsPerProc, loadProcs, depth, sz.loadDuration)
		daemon, err := in.loadRate(in.socket, depth, sz.loadDuration)
		if err != nil {
			return err
		}
		echo, err := in.loadRate(in.echoSock, depth, sz.loadDuration)
		if err != nil {
			return err
		}
		if depth == 1 {
			rep.readsPerSecUnpipelined, rep.echoPerSecUnpipelined = daemon, echo
		} else {
			rep.readsPerSec, rep.echoPerSec = daemon, echo
		}
	}
	return nil
}

// loadRate returns the responses per second that the server at socket
// sends to loadProcs processes keeping depth requests in flight on each
// of their connections.
func (in *install) loadRate(socket string, depth int, duration time.Duration) (float64, error) {
	args := []string{"-mode", "load", "-socket", socket, "-request", "read",
		"-conns", strconv.Itoa(loadConnsPerProc), "-depth", strconv.Itoa(depth), "-duration", duration.String()}
	if socket == in.echoSock {
		args = append(args, "-echo")
	}
	g, err := in.startGang(loadProcs, func(int) []string { return args })
	if err != nil {
		return 0, err
	}
	results, err := g.release()
	if err != nil {
		return 0, err
	}
	var ops, longest int64
	for _, r := range results {
		ops += r.Ops
		longest = max(longest, r.Elapsed)
	}
	return float64(ops) / time.Duration(longest).Seconds(), nil
}

// noHashCache repeats the connection figure against a daemon started with
// the hidden --no-hash-cache flag, which hashes the caller on every
// connection.
func noHashCache(in *install, sz sizes, rep *report) error {
	step("connect, identity check, one read, close without the hash cache, %d connections", sz.noCacheConns)
	d, err := in.startDaemon("daemon-no-hash-cache", false, "--no-hash-cache")
	if err != nil {
		return err
	}
	res, runErr := in.runWorkerProc(in.medium(), "-mode", "connect", "-socket", in.socket, "-request", "read",
		"-n", strconv.Itoa(sz.noCacheConns), "-warmup", "2")
	if err := d.stop(); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	rep.connectNoCache = summarize(res.Latencies)
	return nil
}

// memory starts a fresh daemon over the seeded vault, opens idle
// connections from several processes (each within the per-process cap)
// and reads the daemon's resident memory.
func memory(in *install, sz sizes, rep *report) error {
	step("resident memory with %d idle connections", sz.idleConns)
	d, err := in.startDaemon("daemon-memory", false)
	if err != nil {
		return err
	}
	rssStart, err := d.rss()
	if err != nil {
		d.stop()
		return err
	}

	procs := (sz.idleConns + idleConnsPerProc - 1) / idleConnsPerProc
	g, err := in.startGang(procs, func(i int) []string {
		conns := sz.idleConns / procs
		if i < sz.idleConns%procs {
			conns++
		}
		return []string{"-mode", "idle", "-socket", in.socket, "-conns", strconv.Itoa(conns)}
	})
	if err != nil {
		d.stop()
		return err
	}
	rss, rssErr := d.rss()
	_, releaseErr := g.release()
	if err := d.stop(); err != nil {
		return err
	}
	if rssErr != nil {
		return rssErr
	}
	if releaseErr != nil {
		return releaseErr
	}
	rep.rssStart, rep.rssIdle = rssStart, rss
	rep.idleConns = sz.idleConns
	return nil
}

// latency summarizes a set of durations in nanoseconds.
type latency struct {
	n        int
	p50, p99 time.Duration
}

func summarize(ns []int64) latency {
	if len(ns) == 0 {
		return latency{}
	}
	sorted := slices.Clone(ns)
	slices.Sort(sorted)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(sorted))+0.999999) - 1
		return time.Duration(sorted[max(0, min(i, len(sorted)-1))])
	}
	return latency{n: len(sorted), p50: at(0.50), p99: at(0.99)}
}
