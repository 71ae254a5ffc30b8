// Package memory is an in-memory secret store. It holds nothing across
// restarts and exists for tests and as the reference behaviour that the
// conformance suite checks other backends against.
package memory

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is an in-memory store.Store. Its zero value is not usable; call New.
type Store struct {
	mu sync.RWMutex
	// services maps service to target to item; guarded by mu.
	services map[string]map[string]store.Item
}

// New returns an empty store.
func New() *Store {
	return &Store{services: map[string]map[string]store.Item{}}
}

func cloneItem(it store.Item, withValue bool) store.Item {
	out := store.Item{Target: it.Target}
	if withValue {
		out.Value = slices.Clone(it.Value)
	}
	if len(it.Attributes) > 0 {
		out.Attributes = maps.Clone(it.Attributes)
	}
	return out
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, service string, targets []string) ([]store.Item, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	items := s.services[service]
	var out []store.Item
	for _, t := range targets {
		if it, ok := items[t]; ok {
			out = append(out, cloneItem(it, true))
		}
	}
	return out, nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, service string, q store.Query) ([]store.Item, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []store.Item
	for target, it := range s.services[service] {
		if store.MatchesQuery(target, it.Attributes, q) {
			out = append(out, cloneItem(it, q.WithValues))
		}
	}
	slices.SortFunc(out, func(a, b store.Item) int { return strings.Compare(a.Target, b.Target) })
	return out, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, service string, items []store.Item) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.services[service]
	if m == nil {
		m = map[string]store.Item{}
		s.services[service] = m
	}
	for _, it := range items {
		m[it.Target] = cloneItem(it, true)
	}
	return nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, service string, targets []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range targets {
		delete(s.services[service], t)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error { return nil }

// Describe implements store.Describer.
func (s *Store) Describe() (string, string) {
	return "memory", "nothing is persisted; secrets are lost when the daemon stops"
}
