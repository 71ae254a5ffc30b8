package keychain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

// item is one generic password item of a service.
type item struct {
	Account string
	// Data is the value; nil in results of FindAll.
	Data []byte
	// Generic is kSecAttrGeneric: the attributes as JSON, or empty.
	Generic []byte
}

// itemAPI is the part of the keychain the store uses. Find and Delete return
// store.ErrNotFound for a missing item; Add returns errDuplicate for an
// existing one.
type itemAPI interface {
	Find(service, account string) (*item, error)
	// FindAll returns the items of service without their data, because the
	// macOS keychain does not return data for kSecMatchLimitAll queries.
	FindAll(service string) ([]item, error)
	Add(service string, it item) error
	Update(service string, it item) error
	Delete(service, account string) error
}

// Store is a store.Store over the macOS keychain.
type Store struct {
	api itemAPI
	// mu serializes operations, so the restoration in Put and Delete never
	// interleaves with another batch of this process.
	mu sync.Mutex
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Describer = (*Store)(nil)
)

func newStore(api itemAPI) *Store { return &Store{api: api} }

// Describe returns the backend name and what it protects against.
func (s *Store) Describe() (name, protection string) {
	return "keychain", "macOS login keychain: protects against other users and offline copies; other applications of the same user are prompted for through the item access list"
}

// Close releases nothing; every call creates and frees its own objects.
func (s *Store) Close() error { return nil }

// Get returns the items for targets that exist, in request order.
func (s *Store) Get(ctx context.Context, service string, targets []string) ([]store.Item, error) {
	if err := checkNames("get", service, targets); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	var items []store.Item
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		it, err := s.api.Find(service, t)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out, err := toStoreItem(it, true)
		if err != nil {
			return nil, err
		}
		items = append(items, out)
	}
	return items, nil
}

// List returns the items of service that match q, sorted by target.
func (s *Store) List(ctx context.Context, service string, q store.Query) ([]store.Item, error) {
	if err := checkNames("list", service, nil); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	all, err := s.api.FindAll(service)
	if err != nil {
		return nil, err
	}
	var items []store.Item
	for i := range all {
		out, err := toStoreItem(&all[i], false)
		if err != nil {
			return nil, err
		}
		if !store.MatchesQuery(out.Target, out.Attributes, q) {
			continue
		}
		if q.WithValues {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			full, err := s.api.Find(service, out.Target)
			if errors.Is(err, store.ErrNotFound) {
				// Deleted by another program since FindAll.
				continue
			}
			if err != nil {
				return nil, err
			}
			out.Value = full.Data
		}
		items = append(items, out)
	}
	slices.SortFunc(items, func(a, b store.Item) int { return strings.Compare(a.Target, b.Target) })
	return items, nil
}

// Put stores every item, restoring the previous items if a change fails.
func (s *Store) Put(ctx context.Context, service string, items []store.Item) error {
	targets := make([]string, len(items))
	for i, it := range items {
		targets[i] = it.Target
	}
	if err := checkNames("put", service, targets); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	var changes []*change
	index := map[string]*change{}
	for _, in := range items {
		generic, err := encodeAttributes(in.Attributes)
		if err != nil {
			return fmt.Errorf("keychain: put %q: %w", in.Target, err)
		}
		next := &item{Account: in.Target, Data: append([]byte{}, in.Value...), Generic: generic}
		if ch, ok := index[in.Target]; ok {
			ch.next = next
			continue
		}
		ch := &change{account: in.Target, next: next}
		index[in.Target] = ch
		changes = append(changes, ch)
	}
	if err := s.readOld(ctx, service, changes); err != nil {
		return err
	}

	for n, ch := range changes {
		var err error
		if ch.old != nil {
			err = s.api.Update(service, *ch.next)
		} else {
			err = s.api.Add(service, *ch.next)
		}
		if err != nil {
			s.restore(service, changes[:n])
			return err
		}
	}
	return nil
}

// Delete removes the targets, restoring the removed items if a delete fails.
func (s *Store) Delete(ctx context.Context, service string, targets []string) error {
	if err := checkNames("delete", service, targets); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	var changes []*change
	seen := map[string]bool{}
	for _, t := range targets {
		if !seen[t] {
			seen[t] = true
			changes = append(changes, &change{account: t})
		}
	}
	if err := s.readOld(ctx, service, changes); err != nil {
		return err
	}
	for n, ch := range changes {
		if ch.old == nil {
			continue
		}
		if err := s.api.Delete(service, ch.account); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.restore(service, changes[:n])
			return err
		}
	}
	return nil
}

// change is one target's item before and after a batch.
type change struct {
	account string
	// old is the item before the batch, nil if none existed.
	old *item
	// next is the item to write, nil for a delete.
	next *item
}

func (s *Store) readOld(ctx context.Context, service string, changes []*change) error {
	for _, ch := range changes {
		if err := ctx.Err(); err != nil {
			return err
		}
		old, err := s.api.Find(service, ch.account)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		ch.old = old
	}
	return nil
}

// restore puts back the items of changes that were already applied. Errors
// are ignored because the original error is the one to report.
func (s *Store) restore(service string, applied []*change) {
	for _, ch := range applied {
		switch {
		case ch.old == nil && ch.next != nil:
			s.api.Delete(service, ch.account)
		case ch.old != nil && ch.next != nil:
			s.api.Update(service, *ch.old)
		case ch.old != nil:
			s.api.Add(service, *ch.old)
		}
	}
}

// checkNames rejects a service or target that cannot round-trip through a
// CFString: invalid UTF-8, or a NUL byte, which the copy back to Go would
// cut at.
func checkNames(op, service string, targets []string) error {
	for _, s := range append([]string{service}, targets...) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return fmt.Errorf("keychain: %s: name %q is not valid UTF-8 without NUL bytes, which keychain attributes require", op, s)
		}
	}
	return nil
}

func toStoreItem(it *item, withValue bool) (store.Item, error) {
	attrs, err := decodeAttributes(it.Generic)
	if err != nil {
		return store.Item{}, fmt.Errorf("keychain: item %q: %w", it.Account, err)
	}
	out := store.Item{Target: it.Account, Attributes: attrs}
	if withValue {
		out.Value = append([]byte{}, it.Data...)
	}
	return out, nil
}

// encodeAttributes returns attrs as the JSON stored in kSecAttrGeneric, or
// an empty slice for no attributes.
func encodeAttributes(attrs map[string]string) ([]byte, error) {
	if len(attrs) == 0 {
		return []byte{}, nil
	}
	return json.Marshal(attrs)
}

// decodeAttributes parses kSecAttrGeneric. Items written by other programs
// may carry anything there, so data that is not a JSON object of strings is
// an error rather than a silent loss of attributes.
func decodeAttributes(generic []byte) (map[string]string, error) {
	if len(generic) == 0 {
		return nil, nil
	}
	var attrs map[string]string
	if err := json.Unmarshal(generic, &attrs); err != nil {
		return nil, fmt.Errorf("kSecAttrGeneric is not a JSON object of strings: %v", err)
	}
	if len(attrs) == 0 {
		return nil, nil
	}
	return attrs, nil
}
