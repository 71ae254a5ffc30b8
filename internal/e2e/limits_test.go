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
// from one process and checks that another program is still served: the
// connection idle the longest is closed to make room.
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
	// The oldest idle connection made room for it.
	if got := idle[0].recv(); got != "EOF" {
		t.Errorf("longest-idle connection got %s; want it closed", got)
	}
	if err := idle[3].send(req("read", "svc", "k")); err != nil {
		t.Fatal(err)
	}
	if got := idle[3].recv(); got != okEmpty {
		t.Errorf("most recent idle connection got %s; want it still served", got)
	}
}
