package vault

import (
	"bytes"
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

var (
	_ store.Store     = (*Vault)(nil)
	_ store.Describer = (*Vault)(nil)
)

// Vault is an encrypted single-file store.Store. It is safe for concurrent
// use: bbolt serializes writers, and the AEAD keeps no state between calls.
type Vault struct {
	db         *bolt.DB
	aead       cipher.AEAD
	protection string
}

// unlock reads the metadata of an open vault file, derives the key unless
// aead is already known, checks the key and authenticates every record.
func unlock(db *bolt.DB, src KeySource, aead cipher.AEAD) (*Vault, error) {
	var kind string
	var params, check []byte
	err := db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil || tx.Bucket(bucketServices) == nil {
			return fmt.Errorf("%w: metadata is missing, so this is not a complete keychain-auth vault", ErrCorrupt)
		}
		format := meta.Get(metaFormat)
		if len(format) != 1 {
			return fmt.Errorf("%w: format version is missing", ErrCorrupt)
		}
		if format[0] != formatVersion {
			return fmt.Errorf("vault has format version %d; this build reads version %d", format[0], formatVersion)
		}
		kind = string(meta.Get(metaKeyKind))
		params = bytes.Clone(meta.Get(metaKeyParams))
		check = bytes.Clone(meta.Get(metaKeyCheck))
		return nil
	})
	if err != nil {
		return nil, err
	}

	if kind != src.Kind() {
		return nil, fmt.Errorf("vault was created with a %s, not a %s; open it with a %s", kind, src.Kind(), kind)
	}
	if aead == nil {
		key, _, err := src.Key(KeyRequest{Params: params})
		if err != nil {
			return nil, err
		}
		if aead, err = newAEAD(key); err != nil {
			return nil, err
		}
	}
	if !keyCheckOpens(aead, check) {
		return nil, fmt.Errorf("%w: the %s does not match the one this vault was created with", ErrWrongKey, kind)
	}

	v := &Vault{db: db, aead: aead, protection: src.Protection()}
	if err := v.verifyRecords(); err != nil {
		return nil, err
	}
	return v, nil
}

// verifyRecords authenticates every record, so a damaged vault stops the
// daemon at start instead of failing one request at a time.
func (v *Vault) verifyRecords() error {
	return v.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketServices).ForEach(func(name, value []byte) error {
			b := tx.Bucket(bucketServices).Bucket(name)
			if b == nil {
				return fmt.Errorf("%w: service %q is not a bucket", ErrCorrupt, name)
			}
			return b.ForEach(func(target, record []byte) error {
				_, err := v.openItem(string(name), string(target), record, false)
				return err
			})
		})
	})
}

// Get implements store.Store.
func (v *Vault) Get(ctx context.Context, service string, targets []string) ([]store.Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("vault get: %w", err)
	}

	var items []store.Item
	err := v.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketServices).Bucket([]byte(service))
		if b == nil {
			return nil
		}
		for _, target := range targets {
			record := b.Get([]byte(target))
			if record == nil {
				continue
			}
			it, err := v.openItem(service, target, record, true)
			if err != nil {
				return err
			}
			items = append(items, it)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vault get: %w", err)
	}
	return items, nil
}

// List implements store.Store. It seeks to each prefix, so its cost grows
// with the number of matching targets, not with the size of the service.
// Every matching record is decrypted, even without WithValues, because the
// attributes that q may filter on are sealed with the value.
func (v *Vault) List(ctx context.Context, service string, q store.Query) ([]store.Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("vault list: %w", err)
	}

	var items []store.Item
	err := v.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketServices).Bucket([]byte(service))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for _, prefix := range disjointPrefixes(q.Prefixes) {
			p := []byte(prefix)
			for k, record := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, record = c.Next() {
				it, err := v.openItem(service, string(k), record, q.WithValues)
				if err != nil {
					return err
				}
				if store.MatchesQuery(it.Target, it.Attributes, q) {
					items = append(items, it)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vault list: %w", err)
	}
	return items, nil
}

// disjointPrefixes sorts the prefixes and drops every one that another
// prefix covers. The ranges of targets they select are then disjoint and in
// ascending order, so scanning them one after the other yields each target
// once, sorted. No prefixes means one empty prefix, which selects all.
func disjointPrefixes(prefixes []string) []string {
	if len(prefixes) == 0 {
		return []string{""}
	}
	sorted := slices.Clone(prefixes)
	slices.Sort(sorted)

	out := sorted[:1]
	for _, p := range sorted[1:] {
		// A covering prefix sorts before every string it covers, so only the
		// last kept prefix needs checking.
		if !strings.HasPrefix(p, out[len(out)-1]) {
			out = append(out, p)
		}
	}
	return out
}

// Put implements store.Store. The records are sealed before the write
// transaction starts, so encryption does not hold bbolt's writer lock.
func (v *Vault) Put(ctx context.Context, service string, items []store.Item) error {
	if err := validateNames(service, items); err != nil {
		return fmt.Errorf("vault put: %w", err)
	}
	if len(items) == 0 {
		return nil
	}

	records := make([][]byte, len(items))
	for i, it := range items {
		records[i] = sealRecord(v.aead, service, it.Target, it.Value, it.Attributes)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vault put: %w", err)
	}

	err := v.update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketServices).CreateBucketIfNotExists([]byte(service))
		if err != nil {
			return err
		}
		for i, it := range items {
			if err := b.Put([]byte(it.Target), records[i]); err != nil {
				return fmt.Errorf("target %q: %w", it.Target, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("vault put: %w", err)
	}
	return nil
}

// validateNames checks the service and targets against bbolt's key rules:
// bucket names and keys must be non-empty and at most bolt.MaxKeySize bytes.
func validateNames(service string, items []store.Item) error {
	if service == "" {
		return errors.New("service name is empty")
	}
	if len(service) > bolt.MaxKeySize {
		return fmt.Errorf("service name has %d bytes; the maximum is %d", len(service), bolt.MaxKeySize)
	}
	for i, it := range items {
		if it.Target == "" {
			return fmt.Errorf("target %d of the batch is empty", i)
		}
		if len(it.Target) > bolt.MaxKeySize {
			return fmt.Errorf("target %d of the batch has %d bytes; the maximum is %d", i, len(it.Target), bolt.MaxKeySize)
		}
	}
	return nil
}

// Delete implements store.Store. A service left without targets is removed,
// so its name does not stay in the file.
func (v *Vault) Delete(ctx context.Context, service string, targets []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vault delete: %w", err)
	}
	if service == "" || len(targets) == 0 {
		return nil
	}

	err := v.update(func(tx *bolt.Tx) error {
		services := tx.Bucket(bucketServices)
		b := services.Bucket([]byte(service))
		if b == nil {
			return nil
		}
		for _, target := range targets {
			// An empty or oversized target cannot have been stored.
			if target == "" || len(target) > bolt.MaxKeySize {
				continue
			}
			if err := b.Delete([]byte(target)); err != nil {
				return fmt.Errorf("target %q: %w", target, err)
			}
		}
		if k, _ := b.Cursor().First(); k == nil {
			return services.DeleteBucket([]byte(service))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("vault delete: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (v *Vault) Close() error {
	return v.db.Close()
}

// InProcess reports true: the vault never waits on another process. Its
// methods check the context before they start and not while bbolt works.
func (v *Vault) InProcess() bool { return true }

// Describe implements store.Describer.
func (v *Vault) Describe() (name, protection string) {
	return "vault", v.protection
}

// openItem authenticates a record and returns it as an item owning its
// memory, with the value only if withValue is set.
func (v *Vault) openItem(service, target string, record []byte, withValue bool) (store.Item, error) {
	value, attrs, err := openRecord(v.aead, service, target, record)
	if err != nil {
		return store.Item{}, fmt.Errorf("%w: service %q target %q: %w", ErrCorrupt, service, target, err)
	}
	it := store.Item{Target: target, Attributes: attrs}
	if withValue {
		it.Value = value
	} else {
		clear(value)
	}
	return it, nil
}

// view runs a read-only transaction. bbolt panics on some damaged pages;
// the panic becomes ErrCorrupt instead of ending the daemon, and bbolt's
// own deferred rollback releases the transaction.
func (v *Vault) view(fn func(*bolt.Tx) error) (err error) {
	defer recoverCorrupt(&err)
	return v.db.View(fn)
}

// update runs one write transaction, which bbolt syncs to disk on commit.
func (v *Vault) update(fn func(*bolt.Tx) error) (err error) {
	defer recoverCorrupt(&err)
	return v.db.Update(fn)
}

func recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: storage engine failed: %v", ErrCorrupt, r)
	}
}
