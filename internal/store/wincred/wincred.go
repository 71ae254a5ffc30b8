package wincred

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

// credentialAPI is the part of the Credential Manager the store uses. Read
// and Delete return store.ErrNotFound for a missing credential; Enumerate
// returns the credentials whose names start with the filter's text before its
// final '*'.
type credentialAPI interface {
	Read(name string) (*credential, error)
	Write(c *credential) error
	Delete(name string) error
	Enumerate(filter string) ([]*credential, error)
}

// Store is a store.Store over the Windows Credential Manager.
type Store struct {
	api credentialAPI
	// mu serializes operations, so the batch restoration in Put and Delete
	// never interleaves with another batch of this process.
	mu sync.Mutex
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Describer = (*Store)(nil)
)

func newStore(api credentialAPI) *Store { return &Store{api: api} }

// Describe returns the backend name and what it protects against.
func (s *Store) Describe() (name, protection string) {
	return "wincred", "Windows Credential Manager (DPAPI): protects against other users and offline copies, not against other processes of the same user"
}

// Close releases nothing; Credential Manager calls hold no state.
func (s *Store) Close() error { return nil }

// Get returns the items for targets that exist, in request order.
func (s *Store) Get(ctx context.Context, service string, targets []string) ([]store.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	var items []store.Item
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := primaryName(service, t)
		c, err := s.api.Read(name)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if c.Name != name {
			// Names compare case-insensitively; this is another target.
			continue
		}
		it, err := s.assemble(service, t, c, true)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// List returns the items of service that match q, sorted by target.
func (s *Store) List(ctx context.Context, service string, q store.Query) ([]store.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	creds, err := s.api.Enumerate(serviceFilter(service))
	if err != nil {
		return nil, err
	}
	var items []store.Item
	for _, c := range creds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		svc, target, ok := parsePrimaryName(c.Name)
		if !ok || svc != service {
			continue
		}
		it, err := s.assemble(service, target, c, q.WithValues)
		if err != nil {
			return nil, err
		}
		if !store.MatchesQuery(it.Target, it.Attributes, q) {
			continue
		}
		items = append(items, it)
	}
	slices.SortFunc(items, func(a, b store.Item) int { return strings.Compare(a.Target, b.Target) })
	return items, nil
}

// assemble decodes the primary credential c of target and, with values,
// reads its chunks.
func (s *Store) assemble(service, target string, c *credential, withValue bool) (store.Item, error) {
	lay, attrs, err := decodePrimary(c)
	if err != nil {
		return store.Item{}, err
	}
	it := store.Item{Target: target, Attributes: attrs}
	if !withValue {
		return it, nil
	}

	value := make([]byte, 0, lay.Size)
	value = append(value, c.Blob...)
	for i := 1; i <= lay.Chunks; i++ {
		name := chunkName(service, target, lay.Generation, i)
		chunk, err := s.api.Read(name)
		if isNotFound(err) {
			return store.Item{}, fmt.Errorf("%w %q: chunk %q is missing", errCorrupt, c.Name, name)
		}
		if err != nil {
			return store.Item{}, err
		}
		if err := checkChunk(chunk, lay, i); err != nil {
			return store.Item{}, err
		}
		value = append(value, chunk.Blob...)
	}
	if len(value) != lay.Size {
		return store.Item{}, fmt.Errorf("%w %q: %d bytes; layout records %d", errCorrupt, c.Name, len(value), lay.Size)
	}
	it.Value = value
	return it, nil
}

// change is one target's credentials before and after a batch.
type change struct {
	target string
	// old is the primary credential before the batch, nil if none existed.
	old *credential
	// oldLayout names the chunks of old.
	oldLayout layout
	// creds are the new credentials, primary first; nil for a delete.
	creds []credential
}

// Put stores every item, restoring the previous credentials if a write
// fails.
func (s *Store) Put(ctx context.Context, service string, items []store.Item) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	// Validate and encode every item before the first write.
	changes := make([]*change, 0, len(items))
	index := map[string]*change{}
	for _, it := range items {
		gen, err := newGeneration()
		if err != nil {
			return err
		}
		creds, err := encodeItem(service, it.Target, it.Value, it.Attributes, gen)
		if err != nil {
			return fmt.Errorf("wincred: put: %w", err)
		}
		if ch, ok := index[it.Target]; ok {
			// The last value for a target wins, as in one transaction.
			ch.creds = creds
			continue
		}
		ch := &change{target: it.Target, creds: creds}
		index[it.Target] = ch
		changes = append(changes, ch)
	}
	if err := s.readOld(ctx, service, changes, true); err != nil {
		return err
	}

	// Chunks first: their names are new, so nothing a reader uses changes.
	for _, ch := range changes {
		for i := 1; i < len(ch.creds); i++ {
			if err := s.api.Write(&ch.creds[i]); err != nil {
				s.removeNewChunks(changes)
				return err
			}
		}
	}
	for n, ch := range changes {
		if err := s.api.Write(&ch.creds[0]); err != nil {
			s.restore(changes[:n])
			s.removeNewChunks(changes)
			return err
		}
	}
	for _, ch := range changes {
		s.removeOldChunks(service, ch)
	}
	return nil
}

// Delete removes the targets, restoring the removed credentials if a delete
// fails.
func (s *Store) Delete(ctx context.Context, service string, targets []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	var changes []*change
	seen := map[string]bool{}
	for _, t := range targets {
		if !seen[t] {
			seen[t] = true
			changes = append(changes, &change{target: t})
		}
	}
	if err := s.readOld(ctx, service, changes, false); err != nil {
		return err
	}
	for n, ch := range changes {
		if ch.old == nil {
			continue
		}
		if err := s.api.Delete(ch.old.Name); err != nil && !isNotFound(err) {
			s.restore(changes[:n])
			return err
		}
	}
	for _, ch := range changes {
		s.removeOldChunks(service, ch)
	}
	return nil
}

// readOld records the current primary credential of every change.
// Credential names compare case-insensitively, so a stored name that differs
// from the target's only in letter case belongs to another target: writing
// would replace it, so a write is rejected, and a delete leaves it alone.
func (s *Store) readOld(ctx context.Context, service string, changes []*change, writing bool) error {
	for _, ch := range changes {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := primaryName(service, ch.target)
		old, err := s.api.Read(name)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if old.Name != name {
			if writing {
				return fmt.Errorf("wincred: put %q: credential %q already exists and Credential Manager names ignore letter case; use another target name", name, old.Name)
			}
			continue
		}
		lay, _, err := decodePrimary(old)
		if err != nil {
			// A corrupt old version is replaced or deleted; its chunks, if
			// any, cannot be named and stay behind.
			lay = layout{}
		}
		ch.old, ch.oldLayout = old, lay
	}
	return nil
}

// restore puts back the primary credentials of changes that were already
// applied. Errors are ignored because the original error is the one to
// report.
func (s *Store) restore(applied []*change) {
	for _, ch := range applied {
		if ch.old != nil {
			s.api.Write(ch.old)
		} else if len(ch.creds) > 0 {
			s.api.Delete(ch.creds[0].Name)
		}
	}
}

// removeNewChunks deletes the chunk credentials a failed Put wrote.
func (s *Store) removeNewChunks(changes []*change) {
	for _, ch := range changes {
		for i := 1; i < len(ch.creds); i++ {
			s.api.Delete(ch.creds[i].Name)
		}
	}
}

// removeOldChunks deletes the chunks of the version a batch replaced or
// deleted.
// NOTE: a chunk that cannot be deleted here, or one left by a crash between
// writing chunks and the primary, stays behind unused. Nothing collects it.
func (s *Store) removeOldChunks(service string, ch *change) {
	if ch.old == nil {
		return
	}
	for i := 1; i <= ch.oldLayout.Chunks; i++ {
		s.api.Delete(chunkName(service, ch.target, ch.oldLayout.Generation, i))
	}
}
