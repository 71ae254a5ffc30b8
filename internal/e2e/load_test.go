//go:build linux

package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fullRun reports whether the slow suites run at full size even under
// -short: set KCA_E2E_FULL=1.
func fullRun() bool {
	return !testing.Short() || os.Getenv("KCA_E2E_FULL") == "1"
}

// loadProc is one kaprobe load process.
type loadProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// TestManyConnections runs 1,000 concurrent connections with 100 reads
// each, spread over processes so the default per-process cap of 32
// applies, and checks every response against its request and that the
// daemon's descriptors return to their count before the load.
func TestManyConnections(t *testing.T) {
	procs, perProc, requests := 40, 25, 100
	if !fullRun() {
		procs, requests = 8, 20
	}
	const keys = 1000

	e := newEnv(t)
	e.start()
	writer := e.registerClient("load-writer", "--write", "load")
	line := `{"type":"REQUEST","action":"write","service":"load","targets":` + manyTargets("k", keys) + `,"values":` + manyTargets("v", keys) + `}`
	if got := e.run(writer, []string{line}); len(got) != 1 || got[0] != okEmpty {
		t.Fatalf("writing %d keys got %q", keys, got)
	}
	loader := e.copyBinary(probeBinary(t), "load-reader")
	e.mustCLI("register", loader)
	e.mustCLI("grant", loader, "--read", "load")

	pid := e.daemonPID()
	fdsBefore, threadsBefore := fdCount(t, pid), procStatus(t, pid, "Threads")
	conns := procs * perProc

	// Two rounds: descriptors must return to their count after each, and
	// the thread count must stay bounded.
	var threadsAfter [2]int64
	for round := range 2 {
		r := runLoad(t, e, loader, procs, perProc, requests, keys)
		var fdsAfter int
		if !waitFor(10*time.Second, func() bool { fdsAfter = fdCount(t, pid); return fdsAfter <= fdsBefore }) {
			t.Errorf("round %d: daemon has %d descriptors after every client closed; want %d as before the load:\n%s", round, fdsAfter, fdsBefore, fdTargets(pid))
		}
		threadsAfter[round] = procStatus(t, pid, "Threads")
		t.Logf("round %d: %d connections from %d processes, %d requests answered correctly in %v (%.0f requests/s); daemon descriptors %d before, %d with every connection open, %d after; threads %d before, %d after",
			round, conns, procs, r.answered, r.elapsed.Round(time.Millisecond), float64(r.answered)/r.elapsed.Seconds(), fdsBefore, r.fdsOpen, fdsAfter, threadsBefore, threadsAfter[round])
	}
	// The Go runtime keeps the threads it starts for blocking system calls
	// and starts more whenever many goroutines block at once, so the count
	// after a round depends on scheduling. Only unbounded growth, as from
	// goroutines stuck in system calls, is a leak; the descriptor counts
	// above are what show that every connection was released.
	const maxThreads = 128
	if threadsAfter[1] > maxThreads {
		t.Errorf("daemon has %d threads after the second round (%d after the first); want at most %d", threadsAfter[1], threadsAfter[0], maxThreads)
	}
	e.checkAlive()
}

// loadResult is what one round of runLoad measured.
type loadResult struct {
	answered int
	fdsOpen  int
	elapsed  time.Duration
}

// runLoad starts procs kaprobe load processes, waits until the daemon
// holds all their connections, runs the requests and closes everything.
func runLoad(t *testing.T, e *env, loader string, procs, perProc, requests, keys int) loadResult {
	t.Helper()
	pid := e.daemonPID()
	fdsBefore := fdCount(t, pid)
	ps := make([]*loadProc, procs)
	for i := range ps {
		cmd := exec.Command(loader, "load", "-socket", e.socket, "-conns", fmt.Sprint(perProc),
			"-requests", fmt.Sprint(requests), "-keys", fmt.Sprint(keys), "-offset", fmt.Sprint(i*perProc*requests))
		cmd.Env = e.environ()
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stdin.Close(); cmd.Wait() })
		ps[i] = &loadProc{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	}
	for i, p := range ps {
		if got, err := p.out.ReadString('\n'); got != "connected\n" {
			t.Fatalf("load process %d printed %q, %v; want connected", i, got, err)
		}
	}
	// Connections wait in the listen backlog until accepted; each accepted
	// one holds a socket and a pidfd in the daemon.
	conns := procs * perProc
	var res loadResult
	if !waitFor(30*time.Second, func() bool { res.fdsOpen = fdCount(t, pid); return res.fdsOpen >= fdsBefore+conns }) {
		t.Errorf("daemon holds %d descriptors with %d connections open, %d before; not every connection was accepted", res.fdsOpen, conns, fdsBefore)
	}

	start := time.Now()
	for _, p := range ps {
		io.WriteString(p.stdin, "go\n")
	}
	for i, p := range ps {
		got, err := p.out.ReadString('\n')
		var done, failures int
		if _, serr := fmt.Sscanf(got, "done requests=%d failures=%d", &done, &failures); serr != nil {
			t.Fatalf("load process %d printed %q, %v", i, got, err)
		}
		if failures != 0 || done != perProc*requests {
			t.Errorf("load process %d: %d requests answered correctly, %d failures; want %d and 0", i, done, failures, perProc*requests)
		}
		res.answered += done
	}
	res.elapsed = time.Since(start)
	for _, p := range ps {
		p.stdin.Close()
		p.cmd.Wait()
	}
	return res
}

// TestSlowClientsCannotBlockOthers keeps connections busy with slowloris
// clients (one byte a second) and with clients that pipeline large reads
// but never read the responses. Another process must still be served. The
// idle timeout must close the slowlorises although they keep sending, and
// the write timeout must close the clients that do not read.
func TestSlowClientsCannotBlockOthers(t *testing.T) {
	e := newEnv(t)
	e.start("--idle-timeout", "3s")
	e.registerSelf("--read", "svc", "--write", "svc")
	client := e.registerClient("bystander", "--read", "svc")
	pid := e.daemonPID()

	big := strings.Repeat("x", 64<<10)
	setup := e.dial()
	setup.send(`{"type":"REQUEST","action":"write","service":"svc","targets":["big"],"values":["` + big + `"]}`)
	if got := setup.recv(); got != okEmpty {
		t.Fatalf("writing the large value got %.200s", got)
	}
	setup.c.Close()
	var fdsBefore int
	waitFor(10*time.Second, func() bool { fdsBefore = fdCount(t, pid); return fdsBefore <= 16 })

	// Clients that never read: each pipelines 200 reads of 64 KiB.
	const nonReaders, slowlorises = 10, 10
	var wg sync.WaitGroup
	nonReading := make([]*rawConn, nonReaders)
	for i := range nonReading {
		c := e.dial()
		nonReading[i] = c
		wg.Go(func() {
			for range 200 {
				if c.send(req("read", "svc", "big")) != nil {
					return
				}
			}
		})
	}

	// Slowlorises: a valid request, one byte a second.
	line := req("read", "svc", "a-target-long-enough-to-take-a-minute-to-send-at-one-byte-a-second") + "\n"
	var sentBytes [slowlorises]atomic.Int64
	slow := make([]*rawConn, slowlorises)
	for i := range slow {
		c := e.dial()
		slow[i] = c
		wg.Go(func() {
			for j := range len(line) {
				c.c.SetWriteDeadline(time.Now().Add(recvTimeout))
				if _, err := c.c.Write([]byte{line[j]}); err != nil {
					return
				}
				sentBytes[i].Add(1)
				time.Sleep(time.Second)
			}
		})
	}

	// Another process is served while all of that is going on.
	var lines []string
	for range 100 {
		lines = append(lines, req("read", "svc", "missing"))
	}
	got := e.run(client, lines)
	if len(got) != len(lines) {
		t.Fatalf("bystander got %d responses for %d requests", len(got), len(lines))
	}
	for i, g := range got {
		if g != okEmpty {
			t.Fatalf("bystander response %d = %.200s; want %s", i, g, okEmpty)
		}
	}

	// Without the test reading anything, the daemon closes every slow
	// connection: the slowlorises after the idle timeout although they
	// keep sending, the non-readers after the write timeout.
	var fdsClosed int
	if !waitFor(recvTimeout, func() bool { fdsClosed = fdCount(t, pid); return fdsClosed <= fdsBefore }) {
		t.Fatalf("daemon still holds %d descriptors, %d before the slow clients:\n%s", fdsClosed, fdsBefore, fdTargets(pid))
	}
	for i, c := range slow {
		if resp := c.recv(); resp != "EOF" {
			t.Errorf("slowloris %d got %.200s; want the connection closed", i, resp)
		}
		if n := sentBytes[i].Load(); n >= int64(len(line)) {
			t.Errorf("slowloris %d sent its whole request (%d bytes) before being closed", i, n)
		}
	}
	for i, c := range nonReading {
		c.c.SetReadDeadline(time.Now().Add(recvTimeout))
		n, err := io.Copy(io.Discard, c.c)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("draining non-reader %d: %v", i, err)
		}
		if n >= 200*int64(len(big)) {
			t.Errorf("non-reader %d received all %d bytes; want the daemon to give up", i, n)
		}
		c.c.Close()
	}
	wg.Wait()
	e.checkAlive()
	t.Logf("%d slowlorises and %d non-readers closed by the daemon while a bystander process was served 100 requests; daemon descriptors %d before, %d after", slowlorises, nonReaders, fdsBefore, fdsClosed)
}
