package secretservice

import (
	"context"
	"fmt"
	"slices"

	"github.com/godbus/dbus/v5"
)

// secretStruct is the Secret Service "Secret" type, signature (oayays).
type secretStruct struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// itemRecord is the metadata of one item as read from the service.
type itemRecord struct {
	path  dbus.ObjectPath
	label string
	// attrs holds every attribute, reserved names included.
	attrs map[string]string
	// modified is the item's modification time in seconds since the epoch.
	modified uint64
}

// newer orders duplicate items of one target: the most recently modified
// wins, then the lowest object path, so every call picks the same one.
func newer(a, b itemRecord) bool {
	if a.modified != b.modified {
		return a.modified > b.modified
	}
	return a.path < b.path
}

// search runs one SearchItems per filter in a single round trip and returns,
// per filter, the matching items of the default collection. Locked items are
// unlocked first.
func (s *Store) search(ctx context.Context, c *conn, filters []map[string]string) ([][]dbus.ObjectPath, error) {
	reqs := make([]request, len(filters))
	for i, f := range filters {
		reqs[i] = request{path: servicePath, method: serviceIface + ".SearchItems", args: []any{f}}
	}
	calls, err := c.callAll(ctx, reqs)
	if err != nil {
		return nil, err
	}

	out := make([][]dbus.ObjectPath, len(filters))
	needUnlock := false
	for i, call := range calls {
		var unlocked, locked []dbus.ObjectPath
		if err := call.Store(&unlocked, &locked); err != nil {
			return nil, fmt.Errorf("search items: %w", err)
		}
		for _, p := range unlocked {
			if c.ownsItem(p) {
				out[i] = append(out[i], p)
			}
		}
		for _, p := range locked {
			if c.ownsItem(p) {
				out[i] = append(out[i], p)
				needUnlock = true
			}
		}
	}
	if needUnlock {
		if err := s.unlock(ctx, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// findTargets returns the items of each target, newest first, with their
// labels if labels is set.
func (s *Store) findTargets(ctx context.Context, c *conn, service string, targets []string, labels bool) (map[string][]itemRecord, error) {
	filters := make([]map[string]string, len(targets))
	for i, t := range targets {
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
	records, err := s.readItems(ctx, c, paths, labels)
	if err != nil {
		return nil, err
	}

	out := make(map[string][]itemRecord, len(targets))
	for _, rec := range records {
		if rec.attrs[attrService] != service {
			continue
		}
		target, ok := rec.attrs[attrTarget]
		if !ok {
			continue
		}
		out[target] = append(out[target], rec)
	}
	for _, recs := range out {
		slices.SortFunc(recs, func(a, b itemRecord) int {
			switch {
			case newer(a, b):
				return -1
			case newer(b, a):
				return 1
			}
			return 0
		})
	}
	return out, nil
}

// readItems reads the attributes of every item in one round trip. With
// labels set it reads all item properties instead, which costs gnome-keyring
// about twice as much and is needed only to re-create items on rollback.
// Otherwise the modification time, which picks among duplicates, is read
// only for items that share a service and target.
func (s *Store) readItems(ctx context.Context, c *conn, paths []dbus.ObjectPath, labels bool) ([]itemRecord, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	if labels {
		return s.readAllProperties(ctx, c, paths)
	}
	values, err := s.readProperty(ctx, c, paths, "Attributes")
	if err != nil {
		return nil, err
	}
	out, err := attributeRecords(paths, values)
	if err != nil {
		return nil, err
	}
	if err := s.readDuplicateTimes(ctx, c, out); err != nil {
		return nil, err
	}
	return out, nil
}

// attributeRecords builds records from the Attributes property of each path.
func attributeRecords(paths []dbus.ObjectPath, values []dbus.Variant) ([]itemRecord, error) {
	out := make([]itemRecord, len(paths))
	for i, v := range values {
		out[i].path = paths[i]
		if err := v.Store(&out[i].attrs); err != nil {
			return nil, fmt.Errorf("read attributes of item %q: %w", paths[i], err)
		}
	}
	return out, nil
}

// readDuplicateTimes reads the modification time of the records that share
// a service and target with another record, in one round trip.
func (s *Store) readDuplicateTimes(ctx context.Context, c *conn, records []itemRecord) error {
	seen := map[[2]string]int{}
	for _, rec := range records {
		seen[[2]string{rec.attrs[attrService], rec.attrs[attrTarget]}]++
	}
	var dupIndex []int
	var dupPaths []dbus.ObjectPath
	for i, rec := range records {
		if seen[[2]string{rec.attrs[attrService], rec.attrs[attrTarget]}] > 1 {
			dupIndex = append(dupIndex, i)
			dupPaths = append(dupPaths, rec.path)
		}
	}
	if len(dupPaths) == 0 {
		return nil
	}
	values, err := s.readProperty(ctx, c, dupPaths, "Modified")
	if err != nil {
		return err
	}
	for j, v := range values {
		// A service that omits Modified leaves the choice to the object path.
		_ = v.Store(&records[dupIndex[j]].modified)
	}
	return nil
}

func (s *Store) readProperty(ctx context.Context, c *conn, paths []dbus.ObjectPath, name string) ([]dbus.Variant, error) {
	reqs := make([]request, len(paths))
	for i, p := range paths {
		reqs[i] = request{path: p, method: propertiesIface + ".Get", args: []any{itemIface, name}}
	}
	calls, err := c.callAll(ctx, reqs)
	if err != nil {
		return nil, err
	}
	out := make([]dbus.Variant, len(paths))
	for i, call := range calls {
		if err := call.Store(&out[i]); err != nil {
			return nil, fmt.Errorf("read %s of item %q: %w", name, paths[i], err)
		}
	}
	return out, nil
}

func (s *Store) readAllProperties(ctx context.Context, c *conn, paths []dbus.ObjectPath) ([]itemRecord, error) {
	reqs := make([]request, len(paths))
	for i, p := range paths {
		reqs[i] = request{path: p, method: propertiesIface + ".GetAll", args: []any{itemIface}}
	}
	calls, err := c.callAll(ctx, reqs)
	if err != nil {
		return nil, err
	}

	out := make([]itemRecord, 0, len(paths))
	for i, call := range calls {
		var props map[string]dbus.Variant
		if err := call.Store(&props); err != nil {
			return nil, fmt.Errorf("read item %q: %w", paths[i], err)
		}
		rec := itemRecord{path: paths[i]}
		if err := props["Attributes"].Store(&rec.attrs); err != nil {
			return nil, fmt.Errorf("read attributes of item %q: %w", paths[i], err)
		}
		// A service that omits Label or Modified is tolerated: they only
		// name re-created items and pick among duplicates.
		_ = props["Label"].Store(&rec.label)
		_ = props["Modified"].Store(&rec.modified)
		out = append(out, rec)
	}
	return out, nil
}

// fetchSecrets reads and decrypts the values of items with one GetSecrets
// call. Items that the service no longer has are left out of the result.
func (s *Store) fetchSecrets(ctx context.Context, c *conn, paths []dbus.ObjectPath) (map[dbus.ObjectPath][]byte, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	return decodeSecrets(c, c.call(ctx, servicePath, serviceIface+".GetSecrets", paths, c.session))
}

// decodeSecrets decrypts the reply of a GetSecrets call.
func decodeSecrets(c *conn, call *dbus.Call) (map[dbus.ObjectPath][]byte, error) {
	var reply map[dbus.ObjectPath]secretStruct
	if err := call.Store(&reply); err != nil {
		return nil, fmt.Errorf("read secrets: %w", err)
	}
	out := make(map[dbus.ObjectPath][]byte, len(reply))
	for p, sec := range reply {
		value, err := c.cipher.open(sec.Parameters, sec.Value)
		if err != nil {
			return nil, fmt.Errorf("read secret of item %q: %w", p, err)
		}
		out[p] = value
	}
	return out, nil
}

// ensureUnlocked unlocks the default collection before a write.
func (s *Store) ensureUnlocked(ctx context.Context, c *conn) error {
	var locked dbus.Variant
	if err := c.call(ctx, c.collection, propertiesIface+".Get", collectionIface, "Locked").Store(&locked); err != nil {
		return fmt.Errorf("read lock state of collection %q: %w", c.collection, err)
	}
	if isLocked, _ := locked.Value().(bool); !isLocked {
		return nil
	}
	return s.unlock(ctx, c)
}

// unlock calls the service's Unlock method for the default collection. It
// succeeds when the service needs no prompt, for example for a login keyring
// whose password the service already has.
func (s *Store) unlock(ctx context.Context, c *conn) error {
	var unlocked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := c.call(ctx, servicePath, serviceIface+".Unlock", []dbus.ObjectPath{c.collection}).Store(&unlocked, &prompt); err != nil {
		return fmt.Errorf("unlock collection %q: %w", c.collection, err)
	}
	if prompt != noPrompt {
		// Dismissing lets the service free the prompt. The error is returned either way.
		_ = c.call(ctx, prompt, promptIface+".Dismiss").Err
		return lockedError(c.collection)
	}
	if !slices.Contains(unlocked, c.collection) {
		return lockedError(c.collection)
	}
	return nil
}

func lockedError(collection dbus.ObjectPath) error {
	return fmt.Errorf("%w: unlocking %q needs a password prompt, which keychain-auth does not show; "+
		"unlock the keyring in the desktop session (for example with Seahorse) and retry", ErrLocked, collection)
}
