//go:build unix

package secretservice

import (
	"context"
	"fmt"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

// benchFixture fills a fresh keyring with n items of service "bench" and
// returns a store on it.
func benchFixture(b *testing.B, n int) (*keyring, *Store) {
	b.Helper()
	k := startKeyring(b)
	s := open(b, Options{Address: k.Address})
	items := make([]store.Item, n)
	for i := range items {
		items[i] = store.Item{Target: fmt.Sprintf("key:%03d", i), Value: []byte(fmt.Sprintf("value-%03d", i))}
	}
	if err := s.Put(context.Background(), "bench", items); err != nil {
		b.Fatal(err)
	}
	return k, s
}

// directLookup is what a client of the Secret Service does for one secret:
// SearchItems, then GetSecret on the first match, over an encrypted session.
func directLookup(b *testing.B, c *conn, target string) []byte {
	var unlocked, locked []dbus.ObjectPath
	attrs := map[string]string{attrService: "bench", attrTarget: target}
	if err := c.bus.Object(serviceName, servicePath).Call(serviceIface+".SearchItems", 0, attrs).Store(&unlocked, &locked); err != nil {
		b.Fatal(err)
	}
	if len(unlocked) == 0 {
		b.Fatalf("no unlocked item for %q", target)
	}
	var sec secretStruct
	if err := c.bus.Object(serviceName, unlocked[0]).Call(itemIface+".GetSecret", 0, c.session).Store(&sec); err != nil {
		b.Fatal(err)
	}
	value, err := c.cipher.open(sec.Parameters, sec.Value)
	if err != nil {
		b.Fatal(err)
	}
	return value
}

func directConn(b *testing.B, k *keyring) *conn {
	b.Helper()
	c, err := connect(context.Background(), k.Address, DefaultTimeout, false)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.close)
	return c
}

func BenchmarkGetOne(b *testing.B) {
	_, s := benchFixture(b, 1)
	ctx := context.Background()
	for b.Loop() {
		got, err := s.Get(ctx, "bench", []string{"key:000"})
		if err != nil || len(got) != 1 {
			b.Fatalf("Get = %d items, %v", len(got), err)
		}
	}
}

func BenchmarkDirectLookupOne(b *testing.B) {
	k, _ := benchFixture(b, 1)
	c := directConn(b, k)
	for b.Loop() {
		directLookup(b, c, "key:000")
	}
}

func BenchmarkList100WithValues(b *testing.B) {
	_, s := benchFixture(b, 100)
	ctx := context.Background()
	q := store.Query{Prefixes: []string{"key:"}, WithValues: true}
	for b.Loop() {
		got, err := s.List(ctx, "bench", q)
		if err != nil || len(got) != 100 {
			b.Fatalf("List = %d items, %v", len(got), err)
		}
	}
}

func BenchmarkGet100(b *testing.B) {
	_, s := benchFixture(b, 100)
	ctx := context.Background()
	targets := make([]string, 100)
	for i := range targets {
		targets[i] = fmt.Sprintf("key:%03d", i)
	}
	for b.Loop() {
		got, err := s.Get(ctx, "bench", targets)
		if err != nil || len(got) != 100 {
			b.Fatalf("Get = %d items, %v", len(got), err)
		}
	}
}

func BenchmarkDirectLookup100(b *testing.B) {
	k, _ := benchFixture(b, 100)
	c := directConn(b, k)
	for b.Loop() {
		for i := range 100 {
			directLookup(b, c, fmt.Sprintf("key:%03d", i))
		}
	}
}
