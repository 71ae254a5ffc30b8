// Package store declares the secret store interface the daemon serves from.
//
// Implementations live in subpackages (memory, vault, secretservice,
// keychain, wincred) and must all pass storetest.Run. A store receives only
// authorized operations, because policy checks happen before any call.
package store

import (
	"context"
	"errors"
	"strings"
)

// ErrNotFound reports a target with no stored value. Get never returns it,
// because it omits missing targets. Backends use it internally, and callers
// that look up a single item may test for it with errors.Is.
var ErrNotFound = errors.New("secret not found")

// Item is one stored secret and its metadata.
type Item struct {
	Target string
	// Value is nil in results of List called without values.
	Value      []byte
	Attributes map[string]string
}

// Query selects items of one service for List.
type Query struct {
	// Prefixes keeps items whose target starts with any of them; empty keeps all.
	Prefixes []string
	// Attributes keeps items that carry every given key with the given value.
	Attributes map[string]string
	// WithValues requests values. Search never sets it.
	WithValues bool
}

// Store is a secret store. Every method must return within a bounded time
// (backends talking to another process apply their own timeout) and must be
// safe for concurrent use.
type Store interface {
	// Get returns the items for the given targets that exist, in request
	// order, with values and attributes. Duplicated targets yield one result each.
	Get(ctx context.Context, service string, targets []string) ([]Item, error)

	// List returns the items of service that match q, sorted by target.
	List(ctx context.Context, service string, q Query) ([]Item, error)

	// Put stores every item, replacing existing ones, as one all-or-nothing
	// batch that is durable before Put returns. An item's attributes replace
	// any stored before.
	Put(ctx context.Context, service string, items []Item) error

	// Delete removes the targets as one all-or-nothing batch. Missing targets
	// are not an error.
	Delete(ctx context.Context, service string, targets []string) error

	// Close releases the store's resources.
	Close() error
}

// Describer is implemented by stores that can describe what they protect
// against, for the status command.
type Describer interface {
	// Describe returns the backend name and a one-line protection summary.
	Describe() (name, protection string)
}

// MatchesQuery reports whether an item with this target and these attributes
// is selected by the prefixes and attribute filter of q.
func MatchesQuery(target string, attrs map[string]string, q Query) bool {
	if len(q.Prefixes) > 0 {
		ok := false
		for _, p := range q.Prefixes {
			if strings.HasPrefix(target, p) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for k, v := range q.Attributes {
		got, ok := attrs[k]
		if !ok || got != v {
			return false
		}
	}
	return true
}
