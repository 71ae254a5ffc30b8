// Package secretservice is a store.Store backed by the freedesktop Secret
// Service API (gnome-keyring, KWallet), spoken directly over the D-Bus
// session bus.
//
// Every secret is an item in the collection behind the "default" alias with
// the attributes "service" and "target" plus the caller's attributes, so
// `secret-tool lookup service S target T` finds what this package wrote and
// items written by `secret-tool store … service S target T` are read back.
// Values are stored byte for byte with the content type "text/plain".
//
// Values cross the bus encrypted: the package opens a
// dh-ietf1024-sha256-aes128-cbc-pkcs7 session and uses the plain algorithm
// only when Options.AllowPlain is set and the service rejects that one.
//
// What it guarantees:
//   - Every D-Bus call, and the connection set-up, ends within Options.Timeout.
//     A missing bus, a hung bus or service, or a service that exits during a
//     call returns an error. After a failure the next call reconnects.
//   - A collection that can only be unlocked through a user prompt returns
//     an error wrapping ErrLocked. The package never shows a prompt.
//   - Put and Delete restore the items they already changed when a later
//     element of the batch fails, as far as the service still responds.
//
// What it does not guarantee: Secret Service items are readable and writable
// by every process of the user that talks D-Bus directly, so this backend
// protects secrets only from programs that go through keychain-auth. Batches
// are not isolated from other Secret Service clients while they run.
package secretservice

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/godbus/dbus/v5"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

var (
	_ store.Store     = (*Store)(nil)
	_ store.Describer = (*Store)(nil)
)

// DefaultTimeout bounds each D-Bus call when Options.Timeout is zero.
const DefaultTimeout = 2 * time.Second

// Attribute names this package sets on every item. Callers cannot set them,
// nor "xdg:schema", which libsecret adds to items it creates.
const (
	attrService = "service"
	attrTarget  = "target"
	attrSchema  = "xdg:schema"
)

// ErrLocked reports that the default collection is locked and unlocking it
// needs a user prompt.
var ErrLocked = errors.New("secret service collection is locked")

// Options configures Open and Probe.
type Options struct {
	// Address is the D-Bus session bus address; empty means the value of
	// DBUS_SESSION_BUS_ADDRESS.
	Address string
	// Timeout bounds every D-Bus call and the connection set-up; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// AllowPlain permits the plain session algorithm, which sends values
	// over the bus unencrypted, when the service does not offer
	// dh-ietf1024-sha256-aes128-cbc-pkcs7.
	AllowPlain bool
}

func (o Options) resolve() (Options, error) {
	if o.Address == "" {
		o.Address = os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	}
	if o.Address == "" {
		return o, errors.New("find session bus: DBUS_SESSION_BUS_ADDRESS is not set; run inside a desktop session or set it to the bus address")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o, nil
}

// Store is a store.Store on the Secret Service. It is safe for concurrent use.
type Store struct {
	opts Options

	// ops is held shared by Get and List and exclusively by Put and Delete,
	// so this store's reads never see a batch half applied or rolled back.
	ops sync.RWMutex

	mu sync.Mutex
	// cur is the live connection, nil until the next call reconnects;
	// guarded by mu.
	cur *conn
	// closed is set by Close; guarded by mu.
	closed bool
}

// Open connects to the Secret Service and returns a store that reconnects on
// its own after the bus or the service goes away.
func Open(ctx context.Context, opts Options) (*Store, error) {
	opts, err := opts.resolve()
	if err != nil {
		return nil, fmt.Errorf("open secret service store: %w", err)
	}
	c, err := connect(ctx, opts.Address, opts.Timeout, opts.AllowPlain)
	if err != nil {
		return nil, fmt.Errorf("open secret service store: %w", err)
	}
	return &Store{opts: opts, cur: c}, nil
}

// Probe reports whether a Secret Service with a default collection responds
// on the bus within the timeout, for automatic backend selection.
func Probe(ctx context.Context, opts Options) error {
	opts, err := opts.resolve()
	if err != nil {
		return fmt.Errorf("probe secret service: %w", err)
	}
	c, err := connect(ctx, opts.Address, opts.Timeout, opts.AllowPlain)
	if err != nil {
		return fmt.Errorf("probe secret service: %w", err)
	}
	c.close()
	return nil
}

// Describe implements store.Describer.
func (s *Store) Describe() (name, protection string) {
	return "secret-service", "items are readable by any process of this user that talks D-Bus directly; " +
		"keychain-auth still controls which programs get secrets through its socket, audits them, and keeps values out of logs"
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.cur != nil {
		s.cur.close()
		s.cur = nil
	}
	return nil
}

// conn returns the live connection, reconnecting if the last one failed.
func (s *Store) conn(ctx context.Context) (*conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("secret service store is closed")
	}
	if s.cur != nil && s.cur.alive() {
		return s.cur, nil
	}
	if s.cur != nil {
		s.cur.close()
		s.cur = nil
	}
	c, err := connect(ctx, s.opts.Address, s.opts.Timeout, s.opts.AllowPlain)
	if err != nil {
		return nil, err
	}
	s.cur = c
	return c, nil
}

// discard drops a connection after an error, so that a service restart or a
// stale session costs one failed call and no more.
func (s *Store) discard(c *conn) {
	s.mu.Lock()
	if s.cur == c {
		s.cur = nil
	}
	s.mu.Unlock()
	c.close()
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, service string, targets []string) ([]store.Item, error) {
	if err := checkNames(service, targets); err != nil {
		return nil, fmt.Errorf("get secrets of service %q: %w", service, err)
	}
	if len(targets) == 0 {
		return nil, nil
	}
	s.ops.RLock()
	defer s.ops.RUnlock()

	c, err := s.conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("get secrets of service %q: %w", service, err)
	}
	items, err := s.get(ctx, c, service, targets)
	if err != nil {
		s.discard(c)
		return nil, fmt.Errorf("get secrets of service %q: %w", service, err)
	}
	return items, nil
}

// get costs two round trips: one SearchItems per target, then the
// attributes of every match together with one GetSecrets for all of them.
func (s *Store) get(ctx context.Context, c *conn, service string, targets []string) ([]store.Item, error) {
	distinct := uniqueStrings(targets)
	filters := make([]map[string]string, len(distinct))
	for i, t := range distinct {
		filters[i] = map[string]string{attrService: service, attrTarget: t}
	}
	found, err := s.search(ctx, c, filters)
	if err != nil {
		return nil, err
	}
	var paths []dbus.ObjectPath
	for _, ps := range found {
		paths = append(paths, ps...)
	}
	if len(paths) == 0 {
		return nil, nil
	}

	reqs := make([]request, 0, len(paths)+1)
	for _, p := range paths {
		reqs = append(reqs, request{path: p, method: propertiesIface + ".Get", args: []any{itemIface, "Attributes"}})
	}
	reqs = append(reqs, request{path: servicePath, method: serviceIface + ".GetSecrets", args: []any{paths, c.session}})
	calls, err := c.callAll(ctx, reqs)
	if err != nil {
		return nil, err
	}
	values := make([]dbus.Variant, len(paths))
	for i, call := range calls[:len(paths)] {
		if err := call.Store(&values[i]); err != nil {
			return nil, fmt.Errorf("read Attributes of item %q: %w", paths[i], err)
		}
	}
	records, err := attributeRecords(paths, values)
	if err != nil {
		return nil, err
	}
	if err := s.readDuplicateTimes(ctx, c, records); err != nil {
		return nil, err
	}
	secrets, err := decodeSecrets(c, calls[len(paths)])
	if err != nil {
		return nil, err
	}

	chosen := map[string]itemRecord{}
	for _, rec := range records {
		target, ok := rec.attrs[attrTarget]
		if !ok || rec.attrs[attrService] != service {
			continue
		}
		if _, ok := secrets[rec.path]; !ok {
			continue // deleted by another client since the search
		}
		if prev, ok := chosen[target]; !ok || newer(rec, prev) {
			chosen[target] = rec
		}
	}
	var out []store.Item
	for _, target := range targets {
		rec, ok := chosen[target]
		if !ok {
			continue
		}
		// Each result gets its own copy, since a target may be requested twice.
		out = append(out, store.Item{Target: target, Value: bytes.Clone(secrets[rec.path]), Attributes: userAttributes(rec.attrs)})
	}
	return out, nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, service string, q store.Query) ([]store.Item, error) {
	if err := checkNames(service, q.Prefixes); err != nil {
		return nil, fmt.Errorf("list service %q: %w", service, err)
	}
	if err := checkAttributes(q.Attributes, false); err != nil {
		return nil, fmt.Errorf("list service %q: %w", service, err)
	}
	for k := range q.Attributes {
		if isReserved(k) {
			return nil, nil // stored items never carry a reserved name as a user attribute
		}
	}
	s.ops.RLock()
	defer s.ops.RUnlock()

	c, err := s.conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("list service %q: %w", service, err)
	}
	items, err := s.list(ctx, c, service, q)
	if err != nil {
		s.discard(c)
		return nil, fmt.Errorf("list service %q: %w", service, err)
	}
	return items, nil
}

func (s *Store) list(ctx context.Context, c *conn, service string, q store.Query) ([]store.Item, error) {
	filter := maps.Clone(q.Attributes)
	if filter == nil {
		filter = map[string]string{}
	}
	filter[attrService] = service
	found, err := s.search(ctx, c, []map[string]string{filter})
	if err != nil {
		return nil, err
	}
	records, err := s.readItems(ctx, c, found[0], false)
	if err != nil {
		return nil, err
	}

	newest := map[string]itemRecord{}
	for _, rec := range records {
		target, ok := rec.attrs[attrTarget]
		if !ok || rec.attrs[attrService] != service || !store.MatchesQuery(target, rec.attrs, q) {
			continue
		}
		if prev, ok := newest[target]; !ok || newer(rec, prev) {
			newest[target] = rec
		}
	}
	out := make([]store.Item, 0, len(newest))
	paths := make([]dbus.ObjectPath, 0, len(newest))
	for target, rec := range newest {
		out = append(out, store.Item{Target: target, Attributes: userAttributes(rec.attrs)})
		paths = append(paths, rec.path)
	}
	slices.SortFunc(out, func(a, b store.Item) int { return cmp.Compare(a.Target, b.Target) })
	if !q.WithValues || len(out) == 0 {
		return out, nil
	}

	secrets, err := s.fetchSecrets(ctx, c, paths)
	if err != nil {
		return nil, err
	}
	withValues := out[:0]
	for _, it := range out {
		value, ok := secrets[newest[it.Target].path]
		if !ok {
			continue // deleted by another client since the search
		}
		it.Value = value
		withValues = append(withValues, it)
	}
	return withValues, nil
}

// checkNames rejects strings that a D-Bus message cannot carry.
func checkNames(service string, names []string) error {
	if !utf8.ValidString(service) {
		return errors.New("service name is not valid UTF-8")
	}
	for _, n := range names {
		if !utf8.ValidString(n) {
			return fmt.Errorf("target %q is not valid UTF-8", n)
		}
	}
	return nil
}

// checkAttributes rejects attributes that D-Bus cannot carry and, for
// writes, the names this package reserves.
func checkAttributes(attrs map[string]string, write bool) error {
	for k, v := range attrs {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("attribute %q is not valid UTF-8", k)
		}
		if write && isReserved(k) {
			return fmt.Errorf("attribute name %q is reserved by the secret service backend", k)
		}
	}
	return nil
}

func isReserved(name string) bool {
	return name == attrService || name == attrTarget || name == attrSchema
}

// userAttributes returns the caller's attributes of an item: all of them
// except the reserved names.
func userAttributes(all map[string]string) map[string]string {
	var out map[string]string
	for k, v := range all {
		if isReserved(k) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

func uniqueStrings(in []string) []string {
	seen := make(map[string]bool, len(in))
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
