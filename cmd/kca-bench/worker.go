package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/keychain-auth/keychain-auth/protocol"
)

// Names the workers and the orchestrator agree on.
const (
	benchService = "bench"
	// oneTarget is the key that exact reads fetch.
	oneTarget = "bench:one"
	// bulkPrefix selects the keys that prefix reads return.
	bulkPrefix = "bulk:"
	// batchPrefix names the keys that batch writes replace on every call.
	batchPrefix = "batch:"
	batchSize   = 1000
)

// workerResult is the JSON object a worker prints on stdout when it finishes.
type workerResult struct {
	// Latencies holds one duration per measured operation, in nanoseconds.
	Latencies []int64 `json:"latencies_ns,omitempty"`
	Ops       int64   `json:"ops"`
	Elapsed   int64   `json:"elapsed_ns"`
}

// workerFlags are the parameters of one worker process. Secret values never
// appear here: write workers generate their own synthetic values.
type workerFlags struct {
	mode     string
	socket   string
	request  string
	n        int
	warmup   int
	conns    int
	depth    int
	duration time.Duration
	expect   int
	echo     bool
	keys     int
}

func runWorker(args []string) int {
	var f workerFlags
	fs := flag.NewFlagSet("worker", flag.ExitOnError)
	fs.StringVar(&f.mode, "mode", "", "rtt, connect, load, idle or seed")
	fs.StringVar(&f.socket, "socket", "", "socket to connect to")
	fs.StringVar(&f.request, "request", "read", "request kind: read, prefix or write")
	fs.IntVar(&f.n, "n", 1000, "measured operations")
	fs.IntVar(&f.warmup, "warmup", 100, "unmeasured operations first")
	fs.IntVar(&f.conns, "conns", 1, "connections (load and idle)")
	fs.IntVar(&f.depth, "depth", 1, "requests in flight per connection (load)")
	fs.DurationVar(&f.duration, "duration", 5*time.Second, "measured time (load)")
	fs.IntVar(&f.expect, "expect", -1, "results each response must carry; -1 checks nothing")
	fs.BoolVar(&f.echo, "echo", false, "the peer is the echo server: expect each line back unchanged")
	fs.IntVar(&f.keys, "keys", 10_000, "keys to write (seed)")
	fs.Parse(args)

	var res workerResult
	var err error
	switch f.mode {
	case "rtt":
		res, err = roundTrips(&f)
	case "connect":
		res, err = connects(&f)
	case "load":
		res, err = load(&f)
	case "idle":
		res, err = idle(&f)
	case "seed":
		res, err = seed(&f)
	default:
		err = fmt.Errorf("unknown -mode %q", f.mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kca-bench worker:", err)
		return 3
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "kca-bench worker:", err)
		return 3
	}
	return 0
}

// requestLine returns the request line of the given kind, with its newline.
func requestLine(kind string, iteration int) ([]byte, error) {
	req := protocol.Request{Type: protocol.TypeRequest, Service: benchService}
	switch kind {
	case "read":
		req.Action = protocol.ActionRead
		req.Targets = []string{oneTarget}
	case "prefix":
		req.Action = protocol.ActionRead
		req.Match = protocol.MatchPrefix
		req.Targets = []string{bulkPrefix}
	case "write":
		req.Action = protocol.ActionWrite
		req.Targets, req.Values = batch(batchPrefix, 0, batchSize, iteration)
	default:
		return nil, fmt.Errorf("unknown request kind %q", kind)
	}
	return protocol.AppendRequest(nil, &req), nil
}

// batch returns n targets prefix+NNNNNN from first on, with synthetic
// 32-byte values that change with iteration.
func batch(prefix string, first, n, iteration int) (targets, values []string) {
	targets = make([]string, n)
	values = make([]string, n)
	for i := range n {
		targets[i] = fmt.Sprintf("%s%06d", prefix, first+i)
		values[i] = fmt.Sprintf("v%015d%016d", iteration, first+i)
	}
	return targets, values
}

// peer is one client connection with its line reader.
type peer struct {
	c net.Conn
	r *bufio.Reader
}

func dial(socket string) (*peer, error) {
	c, err := net.Dial("unix", socket)
	if err != nil {
		return nil, err
	}
	return &peer{c: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

// readLine returns the next response line without its newline. The slice
// is valid until the next call.
func (p *peer) readLine() ([]byte, error) {
	line, err := p.r.ReadSlice('\n')
	if err == nil {
		return line[:len(line)-1], nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	buf := bytes.Clone(line)
	for {
		line, err = p.r.ReadSlice('\n')
		buf = append(buf, line...)
		if err == nil {
			return buf[:len(buf)-1], nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
}

var successPrefix = []byte(`{"type":"RESPONSE","status":"success"`)

// check returns an error unless resp is the expected response to req. It
// never quotes the response, which may carry values.
func (f *workerFlags) check(req, resp []byte) error {
	if f.echo {
		if !bytes.Equal(resp, req[:len(req)-1]) {
			return errors.New("echo server returned a different line")
		}
		return nil
	}
	if bytes.HasPrefix(resp, successPrefix) && f.expect < 0 {
		return nil
	}
	r, err := protocol.DecodeResponse(resp)
	if err != nil {
		return fmt.Errorf("daemon sent an invalid response: %v", err)
	}
	if r.Status != protocol.StatusSuccess {
		return fmt.Errorf("daemon responded with status %q, reason %q", r.Status, r.Reason)
	}
	if f.expect >= 0 && len(r.Results) != f.expect {
		return fmt.Errorf("daemon returned %d results; want %d", len(r.Results), f.expect)
	}
	return nil
}

// roundTrips times requests on one open connection, one at a time.
func roundTrips(f *workerFlags) (workerResult, error) {
	p, err := dial(f.socket)
	if err != nil {
		return workerResult{}, err
	}
	defer p.c.Close()

	res := workerResult{Latencies: make([]int64, 0, f.n)}
	for i := range f.warmup + f.n {
		req, err := requestLine(f.request, i)
		if err != nil {
			return res, err
		}
		start := time.Now()
		if _, err := p.c.Write(req); err != nil {
			return res, fmt.Errorf("write request %d: %w", i, err)
		}
		resp, err := p.readLine()
		elapsed := time.Since(start)
		if err != nil {
			return res, fmt.Errorf("read response %d: %w", i, err)
		}
		if err := f.check(req, resp); err != nil {
			return res, err
		}
		if i >= f.warmup {
			res.Latencies = append(res.Latencies, int64(elapsed))
		}
	}
	res.Ops = int64(f.n)
	return res, nil
}

// connects times connect, one request, response and close, repeatedly.
func connects(f *workerFlags) (workerResult, error) {
	req, err := requestLine(f.request, 0)
	if err != nil {
		return workerResult{}, err
	}
	res := workerResult{Latencies: make([]int64, 0, f.n)}
	for i := range f.warmup + f.n {
		start := time.Now()
		p, err := dial(f.socket)
		if err != nil {
			return res, fmt.Errorf("connection %d: %w", i, err)
		}
		if _, err := p.c.Write(req); err != nil {
			p.c.Close()
			return res, fmt.Errorf("connection %d: write request: %w", i, err)
		}
		resp, err := p.readLine()
		p.c.Close()
		elapsed := time.Since(start)
		if err != nil {
			return res, fmt.Errorf("connection %d: read response: %w", i, err)
		}
		if err := f.check(req, resp); err != nil {
			return res, err
		}
		if i >= f.warmup {
			res.Latencies = append(res.Latencies, int64(elapsed))
		}
	}
	res.Ops = int64(f.n)
	return res, nil
}

// waitForStart prints "ready" and blocks until the orchestrator writes a
// line (or closes) standard input, so that all workers start together.
func waitForStart() {
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
}

// load keeps f.depth requests in flight on each of f.conns connections
// until f.duration has passed, and counts the responses.
func load(f *workerFlags) (workerResult, error) {
	req, err := requestLine(f.request, 0)
	if err != nil {
		return workerResult{}, err
	}
	burst := bytes.Repeat(req, f.depth)
	peers := make([]*peer, f.conns)
	for i := range peers {
		if peers[i], err = dial(f.socket); err != nil {
			return workerResult{}, fmt.Errorf("connection %d: %w", i, err)
		}
		defer peers[i].c.Close()
	}

	waitForStart()
	start := time.Now()
	deadline := start.Add(f.duration)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int64
		first error
	)
	for _, p := range peers {
		wg.Go(func() {
			var ops int64
			var err error
		loop:
			for time.Now().Before(deadline) {
				if _, err = p.c.Write(burst); err != nil {
					break
				}
				for range f.depth {
					var resp []byte
					if resp, err = p.readLine(); err != nil {
						break loop
					}
					if err = f.check(req, resp); err != nil {
						break loop
					}
					ops++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			total += ops
			if err != nil && first == nil {
				first = err
			}
		})
	}
	wg.Wait()
	return workerResult{Ops: total, Elapsed: int64(time.Since(start))}, first
}

// idle opens f.conns connections, sends one read on each so that the
// daemon has identified and served every one, then holds them open until
// standard input is closed.
func idle(f *workerFlags) (workerResult, error) {
	req, err := requestLine("read", 0)
	if err != nil {
		return workerResult{}, err
	}
	peers := make([]*peer, f.conns)
	for i := range peers {
		p, err := dial(f.socket)
		if err != nil {
			return workerResult{}, fmt.Errorf("connection %d: %w", i, err)
		}
		defer p.c.Close()
		peers[i] = p
		if _, err := p.c.Write(req); err != nil {
			return workerResult{}, fmt.Errorf("connection %d: %w", i, err)
		}
		resp, err := p.readLine()
		if err != nil {
			return workerResult{}, fmt.Errorf("connection %d: %w", i, err)
		}
		if err := f.check(req, resp); err != nil {
			return workerResult{}, err
		}
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	return workerResult{Ops: int64(f.conns)}, nil
}

// seed writes f.keys keys under bulkPrefix in batches, and the key that
// exact reads fetch.
func seed(f *workerFlags) (workerResult, error) {
	p, err := dial(f.socket)
	if err != nil {
		return workerResult{}, err
	}
	defer p.c.Close()

	send := func(targets, values []string) error {
		req := protocol.AppendRequest(nil, &protocol.Request{
			Type: protocol.TypeRequest, Action: protocol.ActionWrite, Service: benchService,
			Targets: targets, Values: values,
		})
		if _, err := p.c.Write(req); err != nil {
			return err
		}
		resp, err := p.readLine()
		if err != nil {
			return err
		}
		return f.check(req, resp)
	}
	if err := send([]string{oneTarget}, []string{"synthetic-value-for-benchmarks-0"}); err != nil {
		return workerResult{}, fmt.Errorf("seed %q: %w", oneTarget, err)
	}
	for first := 0; first < f.keys; first += batchSize {
		targets, values := batch(bulkPrefix, first, min(batchSize, f.keys-first), 0)
		if err := send(targets, values); err != nil {
			return workerResult{}, fmt.Errorf("seed keys from %d: %w", first, err)
		}
	}
	return workerResult{Ops: int64(f.keys + 1)}, nil
}
