// Package storetest is the conformance suite every store.Store backend must
// pass. Backends call Run from their own tests with a constructor that returns
// a fresh, empty store.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

// Options adjusts the suite for a backend's documented limits.
type Options struct {
	// MaxValueSize is the largest value the backend accepts; 0 means at least 256 KiB.
	MaxValueSize int
	// Service is used as the service namespace; it defaults to a fixed name.
	// Backends sharing a real store between runs should pass a unique one.
	Service string
}

// Run runs the conformance suite. newStore must return an empty store; the
// suite closes it.
func Run(t *testing.T, newStore func(t *testing.T) store.Store, opts Options) {
	t.Helper()
	if opts.MaxValueSize == 0 {
		opts.MaxValueSize = 256 << 10
	}
	svc := opts.Service
	if svc == "" {
		svc = "conformance"
	}
	ctx := context.Background()

	open := func(t *testing.T) store.Store {
		t.Helper()
		s := newStore(t)
		t.Cleanup(func() { s.Close() })
		return s
	}
	put := func(t *testing.T, s store.Store, service string, items ...store.Item) {
		t.Helper()
		if err := s.Put(ctx, service, items); err != nil {
			t.Fatalf("Put(%q, %d items) = %v; want nil", service, len(items), err)
		}
	}
	diff := func(t *testing.T, call string, got, want []store.Item) {
		t.Helper()
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, d)
		}
	}

	t.Run("GetMissing", func(t *testing.T) {
		s := open(t)
		got, err := s.Get(ctx, svc, []string{"absent"})
		if err != nil {
			t.Fatalf("Get(absent) error = %v; want nil", err)
		}
		diff(t, "Get(absent)", got, nil)
	})

	t.Run("PutGetRoundTrip", func(t *testing.T) {
		s := open(t)
		put(t, s, svc,
			store.Item{Target: "b", Value: []byte("value-b")},
			store.Item{Target: "a", Value: []byte("value-a"), Attributes: map[string]string{"env": "dev"}},
		)
		got, err := s.Get(ctx, svc, []string{"a", "missing", "b"})
		if err != nil {
			t.Fatalf("Get = %v", err)
		}
		diff(t, "Get(a, missing, b)", got, []store.Item{
			{Target: "a", Value: []byte("value-a"), Attributes: map[string]string{"env": "dev"}},
			{Target: "b", Value: []byte("value-b")},
		})
	})

	t.Run("PutReplaces", func(t *testing.T) {
		s := open(t)
		put(t, s, svc, store.Item{Target: "k", Value: []byte("old"), Attributes: map[string]string{"x": "1"}})
		put(t, s, svc, store.Item{Target: "k", Value: []byte("new")})
		got, err := s.Get(ctx, svc, []string{"k"})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "Get(k) after replace", got, []store.Item{{Target: "k", Value: []byte("new")}})
	})

	t.Run("ServicesAreSeparate", func(t *testing.T) {
		s := open(t)
		other := svc + "-other"
		put(t, s, svc, store.Item{Target: "k", Value: []byte("one")})
		put(t, s, other, store.Item{Target: "k", Value: []byte("two")})
		got, err := s.Get(ctx, other, []string{"k"})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "Get(other, k)", got, []store.Item{{Target: "k", Value: []byte("two")}})
		list, err := s.List(ctx, svc, store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "List(svc)", list, []store.Item{{Target: "k"}})
		if err := s.Delete(ctx, other, []string{"k"}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ListPrefixSortedWithoutValues", func(t *testing.T) {
		s := open(t)
		put(t, s, svc,
			store.Item{Target: "proj:dev:B", Value: []byte("1")},
			store.Item{Target: "proj:dev:A", Value: []byte("2"), Attributes: map[string]string{"owner": "ci"}},
			store.Item{Target: "proj:prod:A", Value: []byte("3")},
			store.Item{Target: "other", Value: []byte("4")},
		)
		got, err := s.List(ctx, svc, store.Query{Prefixes: []string{"proj:dev:"}})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "List(proj:dev:)", got, []store.Item{
			{Target: "proj:dev:A", Attributes: map[string]string{"owner": "ci"}},
			{Target: "proj:dev:B"},
		})

		got, err = s.List(ctx, svc, store.Query{Prefixes: []string{"proj:prod:", "oth"}, WithValues: true})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "List(proj:prod:, oth, values)", got, []store.Item{
			{Target: "other", Value: []byte("4")},
			{Target: "proj:prod:A", Value: []byte("3")},
		})

		got, err = s.List(ctx, svc, store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 {
			t.Errorf("List(all) returned %d items; want 4", len(got))
		}
	})

	t.Run("ListAttributeFilter", func(t *testing.T) {
		s := open(t)
		put(t, s, svc,
			store.Item{Target: "a", Value: []byte("1"), Attributes: map[string]string{"env": "dev", "team": "x"}},
			store.Item{Target: "b", Value: []byte("2"), Attributes: map[string]string{"env": "prod"}},
			store.Item{Target: "c", Value: []byte("3")},
		)
		got, err := s.List(ctx, svc, store.Query{Attributes: map[string]string{"env": "dev"}})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "List(env=dev)", got, []store.Item{{Target: "a", Attributes: map[string]string{"env": "dev", "team": "x"}}})
		got, err = s.List(ctx, svc, store.Query{Attributes: map[string]string{"env": "dev", "team": "y"}})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "List(env=dev, team=y)", got, nil)
	})

	t.Run("DeleteExactAndMissing", func(t *testing.T) {
		s := open(t)
		put(t, s, svc, store.Item{Target: "a", Value: []byte("1")}, store.Item{Target: "b", Value: []byte("2")})
		if err := s.Delete(ctx, svc, []string{"a", "never-existed"}); err != nil {
			t.Fatalf("Delete(a, never-existed) = %v; want nil", err)
		}
		got, err := s.List(ctx, svc, store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "List after delete", got, []store.Item{{Target: "b"}})
	})

	t.Run("ValuesAreOpaqueBytes", func(t *testing.T) {
		s := open(t)
		values := map[string][]byte{
			"empty":     {},
			"unicode":   []byte("pässwörd ✓ 秘密"),
			"newlines":  []byte("line1\nline2\r\n\"quoted\"\\"),
			"large":     make([]byte, opts.MaxValueSize),
			"colon:key": []byte("target names may contain colons"),
		}
		for i := range values["large"] {
			values["large"][i] = byte('a' + i%26)
		}
		var items []store.Item
		var targets []string
		for k, v := range values {
			items = append(items, store.Item{Target: k, Value: v})
			targets = append(targets, k)
		}
		put(t, s, svc, items...)
		got, err := s.Get(ctx, svc, targets)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(values) {
			t.Fatalf("Get returned %d items; want %d", len(got), len(values))
		}
		for _, it := range got {
			if string(it.Value) != string(values[it.Target]) {
				t.Errorf("Get(%q) value of %d bytes differs from the %d bytes written", it.Target, len(it.Value), len(values[it.Target]))
			}
		}
	})

	t.Run("BatchOfManyKeys", func(t *testing.T) {
		s := open(t)
		var items []store.Item
		for i := range 200 {
			items = append(items, store.Item{Target: fmt.Sprintf("bulk:%03d", i), Value: []byte(fmt.Sprint(i))})
		}
		put(t, s, svc, items...)
		got, err := s.List(ctx, svc, store.Query{Prefixes: []string{"bulk:"}, WithValues: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 200 {
			t.Fatalf("List(bulk:) returned %d items; want 200", len(got))
		}
		for i, it := range got {
			if want := fmt.Sprintf("bulk:%03d", i); it.Target != want || string(it.Value) != fmt.Sprint(i) {
				t.Fatalf("List(bulk:)[%d] = %q; want %q with its value", i, it.Target, want)
			}
		}
		targets := make([]string, len(items))
		for i, it := range items {
			targets[i] = it.Target
		}
		if err := s.Delete(ctx, svc, targets); err != nil {
			t.Fatal(err)
		}
		got, err = s.List(ctx, svc, store.Query{Prefixes: []string{"bulk:"}})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "List(bulk:) after delete", got, nil)
	})

	t.Run("ResultsDoNotAliasStore", func(t *testing.T) {
		s := open(t)
		in := store.Item{Target: "k", Value: []byte("orig"), Attributes: map[string]string{"a": "1"}}
		put(t, s, svc, in)
		in.Value[0] = 'X'
		in.Attributes["a"] = "changed"
		got, err := s.Get(ctx, svc, []string{"k"})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "Get(k) after caller mutation", got, []store.Item{{Target: "k", Value: []byte("orig"), Attributes: map[string]string{"a": "1"}}})
	})

	t.Run("ConcurrentUse", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					target := fmt.Sprintf("c%d:%d", w, i)
					if err := s.Put(ctx, svc, []store.Item{{Target: target, Value: []byte(target)}}); err != nil {
						errs <- err
						return
					}
					got, err := s.Get(ctx, svc, []string{target})
					if err != nil {
						errs <- err
						return
					}
					if len(got) != 1 || string(got[0].Value) != target {
						errs <- fmt.Errorf("Get(%q) = %d items; want its own value back", target, len(got))
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}
