//go:build linux

package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/keychain-auth/keychain-auth/internal/testkeyring"
)

// TestSecretServiceBackend runs the daemon on a real gnome-keyring: values
// written through the daemon are found by secret-tool and the other way
// round, and a bus that goes away gives internal_error without taking the
// daemon down.
func TestSecretServiceBackend(t *testing.T) {
	k := testkeyring.Start(t)
	e := newEnv(t)
	e.extraEnv = []string{"DBUS_SESSION_BUS_ADDRESS=" + k.Address}
	e.start("--backend", "secret-service", "--store-timeout", "2s")
	client := e.registerClient("desktop-tool", "--read", "S", "--write", "S", "--search")

	var status struct {
		Backend    string `json:"backend"`
		Protection string `json:"protection"`
	}
	if err := json.Unmarshal([]byte(e.mustCLI("status", "--json")), &status); err != nil {
		t.Fatal(err)
	}
	if status.Backend != "secret-service" || !strings.Contains(status.Protection, "D-Bus") {
		t.Errorf("status reports backend %q, protection %q; want secret-service and a statement about D-Bus access", status.Backend, status.Protection)
	}

	got := e.run(client, []string{`{"type":"REQUEST","action":"write","service":"S","targets":["T"],"values":["line1\nsecret ✓"],"attributes":{"env":"dev"}}`})
	if len(got) != 1 || got[0] != okEmpty {
		t.Fatalf("write through the daemon got %q", got)
	}
	if out := string(k.SecretTool(t, nil, "lookup", "service", "S", "target", "T")); out != "line1\nsecret ✓" {
		t.Errorf("secret-tool lookup = %q; want the value the daemon wrote", out)
	}

	k.SecretTool(t, []byte("from secret-tool"), "store", "--label=external", "service", "S", "target", "ext")
	got = e.run(client, []string{req("read", "S", "ext"), `{"type":"REQUEST","action":"search","service":"S","attributes":{"env":"dev"}}`})
	want := []string{
		`{"type":"RESPONSE","status":"success","results":[{"target":"ext","value":"from secret-tool"}]}`,
		`{"type":"RESPONSE","status":"success","results":[{"target":"T","attributes":{"env":"dev"}}]}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("responses:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	k.Stop()
	s := e.open(client)
	if got := s.do(req("read", "S", "T")); got != `{"type":"RESPONSE","status":"error","reason":"internal_error"}` {
		t.Errorf("read with the bus gone = %s; want internal_error", got)
	}
	k.Start(t)
	if got := s.do(req("read", "S", "ext")); got != want[0] {
		t.Errorf("read after the bus came back = %s; want %s", got, want[0])
	}
	select {
	case err := <-e.exited:
		t.Fatalf("daemon exited: %v", err)
	default:
	}
}
