package secretservice

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/godbus/dbus/v5"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

// snapshotItem is an item as it was before a batch, kept to restore it.
type snapshotItem struct {
	itemRecord
	secret []byte
}

// Put implements store.Store. Elements are applied in order. If one fails,
// the targets of the elements before it and of the failing one are restored
// to their state before the call.
//
// NOTE: durability is up to the service. With gnome-keyring 42.1 an item
// survived a SIGKILL of the daemon right after Put returned
// (TestServiceKilledDuringCall); other services are untested.
func (s *Store) Put(ctx context.Context, service string, items []store.Item) error {
	targets := make([]string, len(items))
	for i, it := range items {
		targets[i] = it.Target
		if err := checkAttributes(it.Attributes, true); err != nil {
			return fmt.Errorf("put target %q of service %q: %w", it.Target, service, err)
		}
	}
	if err := checkNames(service, targets); err != nil {
		return fmt.Errorf("put %d items to service %q: %w", len(items), service, err)
	}
	if len(items) == 0 {
		return nil
	}
	s.ops.Lock()
	defer s.ops.Unlock()

	c, before, err := s.prepareBatch(ctx, service, targets)
	if err != nil {
		return fmt.Errorf("put %d items to service %q: %w", len(items), service, err)
	}

	current := make(map[string][]itemRecord, len(before))
	for target, snaps := range before {
		for _, sn := range snaps {
			current[target] = append(current[target], sn.itemRecord)
		}
	}
	for i, it := range items {
		err := s.putOne(ctx, c, service, it, current)
		if err == nil {
			continue
		}
		s.discard(c)
		err = fmt.Errorf("put target %q (element %d of %d) to service %q: %w", it.Target, i+1, len(items), service, err)
		if rerr := s.restore(ctx, service, uniqueStrings(targets[:i+1]), before); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return nil
}

// prepareBatch connects, unlocks the collection and snapshots, with values,
// every item of the targets.
func (s *Store) prepareBatch(ctx context.Context, service string, targets []string) (*conn, map[string][]snapshotItem, error) {
	c, err := s.conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	before, err := s.snapshot(ctx, c, service, uniqueStrings(targets))
	if err != nil {
		s.discard(c)
		return nil, nil, err
	}
	return c, before, nil
}

func (s *Store) snapshot(ctx context.Context, c *conn, service string, targets []string) (map[string][]snapshotItem, error) {
	if err := s.ensureUnlocked(ctx, c); err != nil {
		return nil, err
	}
	found, err := s.findTargets(ctx, c, service, targets, true)
	if err != nil {
		return nil, err
	}
	var paths []dbus.ObjectPath
	for _, recs := range found {
		for _, rec := range recs {
			paths = append(paths, rec.path)
		}
	}
	secrets, err := s.fetchSecrets(ctx, c, paths)
	if err != nil {
		return nil, err
	}

	out := make(map[string][]snapshotItem, len(found))
	for target, recs := range found {
		for _, rec := range recs {
			secret, ok := secrets[rec.path]
			if !ok {
				continue // deleted by another client since the search
			}
			out[target] = append(out[target], snapshotItem{itemRecord: rec, secret: secret})
		}
	}
	return out, nil
}

// putOne writes one element: it updates the newest item of the target in
// place, deletes any duplicates, or creates the item. current tracks the
// items of each target as the batch changes them.
func (s *Store) putOne(ctx context.Context, c *conn, service string, it store.Item, current map[string][]itemRecord) error {
	params, value, err := c.cipher.seal(it.Value)
	if err != nil {
		return err
	}
	secret := secretStruct{Session: c.session, Parameters: params, Value: value, ContentType: contentTypePlain}
	attrs := itemAttributes(service, it.Target, it.Attributes)

	existing := current[it.Target]
	if len(existing) == 0 {
		path, err := createItem(ctx, c, itemLabel(service, it.Target), attrs, secret)
		if err != nil {
			return err
		}
		current[it.Target] = []itemRecord{{path: path, attrs: attrs}}
		return nil
	}

	keep := existing[0]
	if schema, ok := keep.attrs[attrSchema]; ok {
		attrs[attrSchema] = schema // keeps libsecret schema lookups working
	}
	reqs := []request{
		{path: keep.path, method: itemIface + ".SetSecret", args: []any{secret}},
		{path: keep.path, method: propertiesIface + ".Set", args: []any{itemIface, "Attributes", dbus.MakeVariant(attrs)}},
	}
	for _, dup := range existing[1:] {
		reqs = append(reqs, request{path: dup.path, method: itemIface + ".Delete"})
	}
	calls, err := c.callAll(ctx, reqs)
	if err != nil {
		return err
	}
	for _, call := range calls[2:] {
		if err := checkPrompt(call, c.collection); err != nil {
			return err
		}
	}
	keep.attrs = attrs
	current[it.Target] = []itemRecord{keep}
	return nil
}

// Delete implements store.Store. Targets are deleted in order; if one
// fails, the targets already deleted and the failing one are re-created
// from a snapshot taken before the call.
func (s *Store) Delete(ctx context.Context, service string, targets []string) error {
	if err := checkNames(service, targets); err != nil {
		return fmt.Errorf("delete %d targets of service %q: %w", len(targets), service, err)
	}
	if len(targets) == 0 {
		return nil
	}
	s.ops.Lock()
	defer s.ops.Unlock()

	c, before, err := s.prepareBatch(ctx, service, targets)
	if err != nil {
		return fmt.Errorf("delete %d targets of service %q: %w", len(targets), service, err)
	}

	distinct := uniqueStrings(targets)
	for i, target := range distinct {
		snaps := before[target]
		if len(snaps) == 0 {
			continue
		}
		err := deleteItems(ctx, c, snaps)
		if err == nil {
			continue
		}
		s.discard(c)
		err = fmt.Errorf("delete target %q (element %d of %d) of service %q: %w", target, i+1, len(distinct), service, err)
		if rerr := s.restore(ctx, service, distinct[:i+1], before); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return nil
}

func deleteItems(ctx context.Context, c *conn, snaps []snapshotItem) error {
	reqs := make([]request, len(snaps))
	for i, sn := range snaps {
		reqs[i] = request{path: sn.path, method: itemIface + ".Delete"}
	}
	calls, err := c.callAll(ctx, reqs)
	if err != nil {
		return err
	}
	for _, call := range calls {
		if err := checkPrompt(call, c.collection); err != nil {
			return err
		}
	}
	return nil
}

// restore brings every target back to its snapshot: items that still exist
// get their old secret and attributes, items that are gone are re-created,
// and items the batch created are deleted. It searches the service again
// instead of trusting what the batch believed it did, because a call that
// timed out may still have been applied. It runs on a fresh connection and
// ignores the cancellation of ctx, so a cancelled request is still undone.
func (s *Store) restore(ctx context.Context, service string, targets []string, before map[string][]snapshotItem) error {
	ctx = context.WithoutCancel(ctx)
	c, err := s.conn(ctx)
	if err == nil {
		err = s.restoreWith(ctx, c, service, targets, before)
		if err != nil {
			s.discard(c)
		}
	}
	if err != nil {
		return fmt.Errorf("restore targets %q of service %q after the failure: %w", targets, service, err)
	}
	return nil
}

func (s *Store) restoreWith(ctx context.Context, c *conn, service string, targets []string, before map[string][]snapshotItem) error {
	if err := s.ensureUnlocked(ctx, c); err != nil {
		return err
	}
	now, err := s.findTargets(ctx, c, service, targets, false)
	if err != nil {
		return err
	}

	var reqs []request
	var creates []snapshotItem
	for _, target := range targets {
		present := map[dbus.ObjectPath]bool{}
		for _, rec := range now[target] {
			present[rec.path] = true
		}
		restored := map[dbus.ObjectPath]bool{}
		for _, sn := range before[target] {
			if !present[sn.path] {
				creates = append(creates, sn)
				continue
			}
			restored[sn.path] = true
			params, value, err := c.cipher.seal(sn.secret)
			if err != nil {
				return err
			}
			secret := secretStruct{Session: c.session, Parameters: params, Value: value, ContentType: contentTypePlain}
			reqs = append(reqs,
				request{path: sn.path, method: itemIface + ".SetSecret", args: []any{secret}},
				request{path: sn.path, method: propertiesIface + ".Set", args: []any{itemIface, "Attributes", dbus.MakeVariant(sn.attrs)}},
			)
		}
		for _, rec := range now[target] {
			if !restored[rec.path] {
				reqs = append(reqs, request{path: rec.path, method: itemIface + ".Delete"})
			}
		}
	}

	if len(reqs) > 0 {
		calls, err := c.callAll(ctx, reqs)
		if err != nil {
			return err
		}
		for i, call := range calls {
			if reqs[i].method != itemIface+".Delete" {
				continue
			}
			if err := checkPrompt(call, c.collection); err != nil {
				return err
			}
		}
	}
	for _, sn := range creates {
		params, value, err := c.cipher.seal(sn.secret)
		if err != nil {
			return err
		}
		secret := secretStruct{Session: c.session, Parameters: params, Value: value, ContentType: contentTypePlain}
		if _, err := createItem(ctx, c, sn.label, maps.Clone(sn.attrs), secret); err != nil {
			return err
		}
	}
	return nil
}

func createItem(ctx context.Context, c *conn, label string, attrs map[string]string, secret secretStruct) (dbus.ObjectPath, error) {
	props := map[string]dbus.Variant{
		itemLabelProperty: dbus.MakeVariant(label),
		itemAttrsProperty: dbus.MakeVariant(attrs),
	}
	var path, prompt dbus.ObjectPath
	if err := c.call(ctx, c.collection, collectionIface+".CreateItem", props, secret, false).Store(&path, &prompt); err != nil {
		return "", fmt.Errorf("create item: %w", err)
	}
	if prompt != noPrompt {
		_ = c.call(ctx, prompt, promptIface+".Dismiss").Err
		return "", lockedError(c.collection)
	}
	return path, nil
}

// checkPrompt returns an error when a Delete reply includes a prompt, which
// the service returns only for a locked collection.
func checkPrompt(call *dbus.Call, collection dbus.ObjectPath) error {
	var prompt dbus.ObjectPath
	if err := call.Store(&prompt); err != nil {
		return fmt.Errorf("delete item: %w", err)
	}
	if prompt != noPrompt {
		return lockedError(collection)
	}
	return nil
}

func itemAttributes(service, target string, user map[string]string) map[string]string {
	attrs := make(map[string]string, len(user)+2)
	maps.Copy(attrs, user)
	attrs[attrService] = service
	attrs[attrTarget] = target
	return attrs
}

// itemLabel is the label shown in keyring managers such as Seahorse.
func itemLabel(service, target string) string {
	return fmt.Sprintf("keychain-auth: %s/%s", service, target)
}
