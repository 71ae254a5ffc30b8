//go:build linux

package e2e

import (
	"testing"
)

// TestConnectionCapPerProcess checks that one process cannot hold more
// than --max-connections-per-process connections: the extra one is closed
// before the daemon reads from it, and the others keep working.
func TestConnectionCapPerProcess(t *testing.T) {
	e := newEnv(t)
	e.start("--max-connections-per-process", "3")
	e.registerSelf("--read", "svc")

	var held []*rawConn
	for range 3 {
		held = append(held, e.dial())
	}
	// A round trip on each proves the daemon has admitted all three.
	for i, rc := range held {
		if err := rc.send(req("read", "svc", "k")); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if got := rc.recv(); got != okEmpty {
			t.Fatalf("connection %d got %s; want %s", i, got, okEmpty)
		}
	}

	extra := e.dial()
	extra.send(req("read", "svc", "k"))
	if got := extra.recv(); got != "EOF" {
		t.Errorf("connection over the per-process cap got %s; want it closed", got)
	}
	if err := held[0].send(req("read", "svc", "k")); err != nil {
		t.Fatal(err)
	}
	if got := held[0].recv(); got != okEmpty {
		t.Errorf("an admitted connection after the rejection got %s; want %s", got, okEmpty)
	}
}

// TestConnectionCapEvictsIdle fills the global cap with idle connections
// from one process and checks that another program is still served, because
// one idle connection is closed to make room. The daemon closes the one idle
// the longest. The test does not pin down which one that is, because
// goroutine scheduling decides when each connection started to wait.
func TestConnectionCapEvictsIdle(t *testing.T) {
	e := newEnv(t)
	e.start("--max-connections", "4", "--max-connections-per-process", "8")
	e.registerSelf("--read", "svc")
	client := e.registerClient("newcomer", "--read", "svc")

	var idle []*rawConn
	for range 4 {
		rc := e.dial()
		if err := rc.send(req("read", "svc", "k")); err != nil {
			t.Fatal(err)
		}
		if got := rc.recv(); got != okEmpty {
			t.Fatalf("idle connection setup got %s", got)
		}
		idle = append(idle, rc)
	}

	if got := e.run(client, []string{req("read", "svc", "k")}); len(got) != 1 || got[0] != okEmpty {
		t.Fatalf("new client with the cap full of idle connections got %q; want %s", got, okEmpty)
	}

	closed := 0
	for _, rc := range idle {
		if err := rc.send(req("read", "svc", "k")); err != nil {
			closed++
			continue
		}
		switch got := rc.recv(); got {
		case "EOF":
			closed++
		case okEmpty:
		default:
			t.Errorf("idle connection got %s; want %s or a closed connection", got, okEmpty)
		}
	}
	if closed != 1 {
		t.Errorf("%d idle connections were closed to admit the new client; want exactly 1", closed)
	}
}
