//go:build linux

package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/keychain-auth/keychain-auth/internal/testkeyring"
)

const benchKeys = 100

// secretServiceFixture starts a keyring and a daemon on it, fills service
// S with benchKeys keys, registers the test binary itself (benchmarks talk
// to the daemon from this process) and returns an open daemon connection
// and a direct bus connection with a plain session.
func secretServiceFixture(b *testing.B) (net.Conn, *bufio.Reader, *dbus.Conn, dbus.ObjectPath) {
	b.Helper()
	k := testkeyring.Start(b)
	e := newEnv(b)
	e.extraEnv = []string{"DBUS_SESSION_BUS_ADDRESS=" + k.Address}
	e.start("--backend", "secret-service", "--store-timeout", "10s")
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	e.mustCLI("register", self)
	e.mustCLI("grant", self, "--read", "S", "--write", "S", "--search")

	conn, err := net.Dial("unix", e.socket)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	r := bufio.NewReader(conn)
	targets := make([]string, benchKeys)
	values := make([]string, benchKeys)
	for i := range targets {
		targets[i] = fmt.Sprintf("bench:%03d", i)
		values[i] = fmt.Sprintf("value-%03d", i)
	}
	write := fmt.Sprintf(`{"type":"REQUEST","action":"write","service":"S","targets":["%s"],"values":["%s"]}`,
		strings.Join(targets, `","`), strings.Join(values, `","`))
	if resp := roundTrip(b, conn, r, write); resp != okEmpty {
		b.Fatalf("fill: %s", resp)
	}

	bus, err := dbus.Connect(k.Address)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bus.Close() })
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := bus.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").
		Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		b.Fatal(err)
	}
	return conn, r, bus, session
}

func roundTrip(b *testing.B, conn net.Conn, r *bufio.Reader, line string) string {
	if _, err := conn.Write([]byte(line + "\n")); err != nil {
		b.Fatal(err)
	}
	resp, err := r.ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimSuffix(resp, "\n")
}

// directLookup finds one item by attributes and fetches its secret, as any
// process of the user can without keychain-auth.
func directLookup(b *testing.B, bus *dbus.Conn, session dbus.ObjectPath, target string) {
	var unlocked, locked []dbus.ObjectPath
	svc := bus.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	if err := svc.Call("org.freedesktop.Secret.Service.SearchItems", 0, map[string]string{"service": "S", "target": target}).Store(&unlocked, &locked); err != nil || len(unlocked) == 0 {
		b.Fatalf("search %q: %v, %d items", target, err, len(unlocked))
	}
	var secret struct {
		Session     dbus.ObjectPath
		Params      []byte
		Value       []byte
		ContentType string
	}
	if err := bus.Object("org.freedesktop.secrets", unlocked[0]).Call("org.freedesktop.Secret.Item.GetSecret", 0, session).Store(&secret); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSecretService compares reads through the daemon with direct
// D-Bus lookups of the same items.
func BenchmarkSecretService(b *testing.B) {
	conn, r, bus, session := secretServiceFixture(b)

	b.Run("DaemonReadOne", func(b *testing.B) {
		line := req("read", "S", "bench:042")
		for b.Loop() {
			if resp := roundTrip(b, conn, r, line); !strings.Contains(resp, "value-042") {
				b.Fatalf("read: %s", resp)
			}
		}
	})
	b.Run("DirectLookupOne", func(b *testing.B) {
		for b.Loop() {
			directLookup(b, bus, session, "bench:042")
		}
	})
	b.Run("DaemonPrefixRead100", func(b *testing.B) {
		line := `{"type":"REQUEST","action":"read","service":"S","match":"prefix","targets":["bench:"]}`
		for b.Loop() {
			if resp := roundTrip(b, conn, r, line); strings.Count(resp, `"value"`) != benchKeys {
				b.Fatalf("prefix read returned %d values", strings.Count(resp, `"value"`))
			}
		}
	})
	b.Run("DirectLookup100", func(b *testing.B) {
		for b.Loop() {
			for i := range benchKeys {
				directLookup(b, bus, session, fmt.Sprintf("bench:%03d", i))
			}
		}
	})
}
