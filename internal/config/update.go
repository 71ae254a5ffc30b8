package config

import (
	"fmt"

	"github.com/keychain-auth/keychain-auth/internal/atomicfile"
)

// FilePerm is the mode of config.json.
const FilePerm = 0o600

// Update applies fn to the config at path under an exclusive file lock and
// writes the result atomically with mode 0600, creating the directory with
// mode 0700 if needed. A missing file starts as an empty config.
//
// Update never overwrites a file it cannot parse: it returns the
// *ParseError instead. When fn returns an error nothing is written and
// that error is returned as is. The result of fn is validated by parsing
// it back before it replaces the file.
func Update(path string, fn func(*Config) error) error {
	lock, err := atomicfile.Lock(path)
	if err != nil {
		return fmt.Errorf("update config: %w", err)
	}
	defer lock.Unlock()

	c, err := Load(path)
	if err != nil {
		return fmt.Errorf("update config: %w", err)
	}
	// fn may reshape the entries, so it gets a config without an index
	// rather than one that could go stale.
	c.idx = nil
	if err := fn(c); err != nil {
		return err
	}

	data, err := c.Marshal()
	if err != nil {
		return fmt.Errorf("update config %q: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return fmt.Errorf("update config %q: the result would be %d bytes, over the %d-byte limit Load accepts; remove unused entries with keychain-auth revoke --remove", path, len(data), MaxFileSize)
	}
	if _, err := parseFile(path, data); err != nil {
		return fmt.Errorf("update config: the edited config is invalid: %w", err)
	}
	if err := atomicfile.WriteFile(path, data, FilePerm); err != nil {
		return fmt.Errorf("update config: %w", err)
	}
	return nil
}
