package vault_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/vault"
)

// benchItems returns n items under prefix with 32-byte values and one attribute.
func benchItems(prefix string, n int) []store.Item {
	items := make([]store.Item, n)
	for i := range items {
		items[i] = store.Item{
			Target:     fmt.Sprintf("%s%06d", prefix, i),
			Value:      []byte(fmt.Sprintf("%032d", i)),
			Attributes: map[string]string{"env": "dev"},
		}
	}
	return items
}

// benchVault returns a vault in b.TempDir holding the given batches.
func benchVault(b *testing.B, batches ...[]store.Item) (v *vault.Vault, path, keyPath string) {
	b.Helper()
	dir := b.TempDir()
	path, keyPath = dir+"/vault.db", dir+"/vault.key"
	v, err := vault.Open(path, vault.KeyFile(keyPath))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	for _, items := range batches {
		if err := v.Put(context.Background(), "bench", items); err != nil {
			b.Fatal(err)
		}
	}
	return v, path, keyPath
}

func BenchmarkGetOneKey(b *testing.B) {
	ctx := context.Background()
	v, _, _ := benchVault(b, benchItems("proj:dev:", 10_000))
	targets := []string{"proj:dev:005000"}

	for b.Loop() {
		items, err := v.Get(ctx, "bench", targets)
		if err != nil || len(items) != 1 {
			b.Fatalf("Get = %d items, %v", len(items), err)
		}
	}
}

func BenchmarkPutBatch1000(b *testing.B) {
	ctx := context.Background()
	v, _, _ := benchVault(b)
	items := benchItems("proj:dev:", 1_000)

	for b.Loop() {
		if err := v.Put(ctx, "bench", items); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkListPrefix10000(b *testing.B) {
	ctx := context.Background()
	// 10,000 matching keys between 1,000 keys before and after the prefix.
	v, _, _ := benchVault(b,
		benchItems("proj:a:", 1_000),
		benchItems("proj:dev:", 10_000),
		benchItems("proj:z:", 1_000),
	)

	for _, withValues := range []bool{false, true} {
		b.Run(fmt.Sprintf("WithValues=%t", withValues), func(b *testing.B) {
			q := store.Query{Prefixes: []string{"proj:dev:"}, WithValues: withValues}
			for b.Loop() {
				items, err := v.List(ctx, "bench", q)
				if err != nil || len(items) != 10_000 {
					b.Fatalf("List = %d items, %v", len(items), err)
				}
			}
		})
	}
}

// BenchmarkOpen10000 measures Open, which checks the bbolt structure and
// authenticates every record of a vault holding 10,000 keys.
func BenchmarkOpen10000(b *testing.B) {
	v, path, keyPath := benchVault(b, benchItems("proj:dev:", 10_000))
	v.Close()

	for b.Loop() {
		v, err := vault.Open(path, vault.KeyFile(keyPath))
		if err != nil {
			b.Fatal(err)
		}
		v.Close()
	}
}
