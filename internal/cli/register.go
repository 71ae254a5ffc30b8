package cli

import (
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/internal/identity"
	"github.com/keychain-auth/keychain-auth/internal/pending"
	"github.com/keychain-auth/keychain-auth/paths"
)

func newRegisterCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "register <path>",
		Short: "Register a binary by path and hash, with no rights until you grant some",
		Long: `Register records the binary's canonical path (symlinks resolved) and the SHA-256
of its contents in config.json, with no rights. Registering a path again
updates its hash and keeps the rights it had.`,
		Args: exactArgs(1, "one binary path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, hash, err := recordHash(app, "register", args[0], true)
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "Registered %s with hash %s\n", path, hash)
			return nil
		},
	}
}

func newUpgradeCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "upgrade <path>",
		Short: "Record the new hash of a registered binary after it was rebuilt, keeping its rights",
		Args:  exactArgs(1, "one binary path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, hash, err := recordHash(app, "upgrade", args[0], false)
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "Upgraded %s to new hash %s\n", path, hash)
			return nil
		},
	}
}

// recordHash hashes the file at arg and stores the hash in every entry
// registered at its canonical path, keeping their rights. With create, a
// path with no entry gets a new one without rights; otherwise it is an
// error. The hash is then dropped from the pending queue.
func recordHash(app *App, verb, arg string, create bool) (path, hash string, err error) {
	l, err := app.layout()
	if err != nil {
		return "", "", err
	}
	path, hash, err = identity.HashFile(arg)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", verb, err)
	}
	err = config.Update(l.ConfigFile(), func(c *config.Config) error {
		found := false
		for i := range c.RegisteredBinaries {
			if b := &c.RegisteredBinaries[i]; b.Path == path {
				// Registering by hash is an explicit approval of this
				// build, so it no longer depends on a signer.
				b.Hash = hash
				b.Signer = ""
				found = true
			}
		}
		switch {
		case found:
			mergeEntriesAt(c, path)
		case create:
			c.RegisteredBinaries = append(c.RegisteredBinaries, config.Binary{
				Path: path, Hash: hash, RegisteredAt: time.Now().UTC().Truncate(time.Second),
			})
		default:
			return fmt.Errorf("%q is not registered; register it first with: keychain-auth register %s", path, path)
		}
		return nil
	})
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", verb, err)
	}
	dropPending(app, l, hash)
	return path, hash, nil
}

// dropPending removes hash from the pending queue once it is registered, so
// list-pending and status stop showing it. A failure is reported but does
// not undo the registration.
func dropPending(app *App, l paths.Layout, hash string) {
	if _, _, err := pending.Remove(l.PendingFile(), hash); err != nil {
		fmt.Fprintf(app.Stderr, "keychain-auth: note: registered, but removing %s from the pending queue failed: %v\n", hash, err)
	}
}

// mergeEntriesAt folds every entry registered at path into the first one,
// which keeps the union of their rights. After register or upgrade they all
// carry the same hash, and duplicates would only make list and grant harder
// to read.
func mergeEntriesAt(c *config.Config, path string) {
	first := -1
	kept := c.RegisteredBinaries[:0]
	for _, b := range c.RegisteredBinaries {
		if b.Path != path {
			kept = append(kept, b)
			continue
		}
		if first < 0 {
			first = len(kept)
			kept = append(kept, b)
			continue
		}
		into := &kept[first]
		into.AllowedReadServices = addAll(into.AllowedReadServices, b.AllowedReadServices)
		into.AllowedWriteServices = addAll(into.AllowedWriteServices, b.AllowedWriteServices)
		if b.CanSearch.All {
			into.CanSearch = config.SearchRight{All: true}
		} else if !into.CanSearch.All {
			into.CanSearch.Services = addAll(into.CanSearch.Services, b.CanSearch.Services)
		}
		for _, u := range b.UIDs {
			if !slices.Contains(into.UIDs, u) {
				into.UIDs = append(into.UIDs, u)
			}
		}
		if b.RegisteredAt.Before(into.RegisteredAt) {
			into.RegisteredAt = b.RegisteredAt
		}
	}
	c.RegisteredBinaries = kept
}
