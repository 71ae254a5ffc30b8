//go:build unix

package secretservice

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/keychain-auth/keychain-auth/internal/testkeyring"
)

// keyring is a private bus and keyring for one test.
type keyring struct{ *testkeyring.Keyring }

func requireBinaries(tb testing.TB, names ...string) { testkeyring.RequireBinaries(tb, names...) }

// startKeyring starts a bus and an unlocked keyring and stops both when the
// test ends.
func startKeyring(tb testing.TB) *keyring {
	return &keyring{testkeyring.Start(tb)}
}

// signal sends sig to the bus or the keyring daemon.
func signal(tb testing.TB, cmd *exec.Cmd, sig syscall.Signal) {
	tb.Helper()
	if err := cmd.Process.Signal(sig); err != nil {
		tb.Fatalf("signal %v to %s: %v", sig, cmd.Path, err)
	}
}

// client connects to the bus directly, as any other process of the user can.
func (k *keyring) client(tb testing.TB) *dbus.Conn {
	tb.Helper()
	c, err := dbus.Connect(k.Address)
	if err != nil {
		tb.Fatalf("connect to test bus: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// wipe deletes every item of the default collection.
func (k *keyring) wipe(tb testing.TB) {
	tb.Helper()
	c := k.client(tb)
	var unlocked, locked []dbus.ObjectPath
	if err := c.Object(serviceName, servicePath).Call(serviceIface+".SearchItems", 0, map[string]string{}).Store(&unlocked, &locked); err != nil {
		tb.Fatalf("search all items: %v", err)
	}
	for _, p := range append(unlocked, locked...) {
		var prompt dbus.ObjectPath
		if err := c.Object(serviceName, p).Call(itemIface+".Delete", 0).Store(&prompt); err != nil {
			tb.Fatalf("delete item %q: %v", p, err)
		}
	}
}

// items returns the paths of the items with the given attributes.
func (k *keyring) items(tb testing.TB, attrs map[string]string) []dbus.ObjectPath {
	tb.Helper()
	c := k.client(tb)
	var unlocked, locked []dbus.ObjectPath
	if err := c.Object(serviceName, servicePath).Call(serviceIface+".SearchItems", 0, attrs).Store(&unlocked, &locked); err != nil {
		tb.Fatalf("search items %v: %v", attrs, err)
	}
	return append(unlocked, locked...)
}

func (k *keyring) secretTool(tb testing.TB, stdin []byte, args ...string) []byte {
	tb.Helper()
	return k.SecretTool(tb, stdin, args...)
}

// open opens a store and closes it when the test ends. A zero timeout
// becomes a minute: only tests about timeouts should depend on the speed of
// a shared machine.
func open(tb testing.TB, opts Options) *Store {
	tb.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = time.Minute
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		tb.Fatalf("Open(%q) = %v; want nil", opts.Address, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
