package vault_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/vault"
)

// TestDamagedPageNeverReadsWrong damages each page of a vault file in turn.
// Open must either report an error or open a vault whose items read back as
// written; it must never crash or return other data. Damage to a free page
// changes nothing. Damage to the newer meta page makes bbolt fall back to the
// older one, which is the state before the last commit.
func TestDamagedPageNeverReadsWrong(t *testing.T) {
	ctx := context.Background()
	path, keyPath := paths(t)

	var want []store.Item
	for i := range 300 {
		want = append(want, store.Item{
			Target:     fmt.Sprintf("proj:env%d:KEY_%03d", i%3, i),
			Value:      bytes.Repeat([]byte{byte(i)}, 64+i),
			Attributes: map[string]string{"n": fmt.Sprint(i)},
		})
	}
	v := openVault(t, path, vault.KeyFile(keyPath))
	// Two batches and a delete leave some free pages in the file.
	if err := v.Put(ctx, "svc", want[:150]); err != nil {
		t.Fatal(err)
	}
	if err := v.Put(ctx, "svc", want[150:]); err != nil {
		t.Fatal(err)
	}
	if err := v.Delete(ctx, "svc", []string{want[0].Target}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, func(a, b store.Item) int { return strings.Compare(a.Target, b.Target) })
	beforeDelete := slices.Clone(want)
	want = slices.DeleteFunc(want, func(it store.Item) bool { return it.Target == "proj:env0:KEY_000" })
	closeVault(t, v)

	original, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 4096
	damages := []struct {
		name string
		// start and end are offsets of the damaged bytes within a page.
		start, end int
	}{
		{name: "WholePage", start: 0, end: pageSize},
		{name: "OneByteMidPage", start: pageSize / 2, end: pageSize/2 + 1},
		{name: "OneByteAfterHeader", start: 20, end: 21},
	}
	for _, damage := range damages {
		for page := range len(original) / pageSize {
			t.Run(fmt.Sprintf("%s/Page%d", damage.name, page), func(t *testing.T) {
				damaged := bytes.Clone(original)
				for i := page*pageSize + damage.start; i < page*pageSize+damage.end; i++ {
					damaged[i] ^= 0xa5
				}
				if err := os.WriteFile(path, damaged, 0o600); err != nil {
					t.Fatal(err)
				}

				v, err := vault.Open(path, vault.KeyFile(keyPath))
				if err != nil {
					t.Logf("Open error: %v", err)
					return
				}
				defer closeVault(t, v)
				got, err := v.List(ctx, "svc", store.Query{WithValues: true})
				if err != nil {
					t.Logf("List error: %v", err)
					return
				}
				// sameItems first, because cmp is slow on 300 items and this
				// test compares hundreds of times.
				if sameItems(want, got) || (page <= 1 && sameItems(beforeDelete, got)) {
					return
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("List after damaging page %d returned wrong items (-want +got):\n%s", page, d)
				}
			})
		}
	}
}

func sameItems(a, b []store.Item) bool {
	return slices.EqualFunc(a, b, func(x, y store.Item) bool {
		return x.Target == y.Target && bytes.Equal(x.Value, y.Value) && maps.Equal(x.Attributes, y.Attributes)
	})
}
