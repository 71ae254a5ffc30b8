package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/internal/identity"
	"github.com/keychain-auth/keychain-auth/internal/pending"
	"github.com/keychain-auth/keychain-auth/paths"
)

func newListPendingCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list-pending",
		Short: "List binaries that tried to connect and wait for approval",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := app.layout()
			if err != nil {
				return err
			}
			entries, err := pending.List(l.PendingFile(), time.Now())
			if err != nil {
				return fmt.Errorf("list pending: %w", err)
			}
			if asJSON {
				if entries == nil {
					entries = []pending.Entry{}
				}
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(entries)
			}
			printPending(app.Stdout, l.ConfigFile(), entries)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the queue as a JSON array")
	return cmd
}

// printPending writes the queue in the list-pending text format.
// printPending prints the queue in the list-pending format. An entry whose
// path is registered with another hash gets a note, because that is
// usually a rebuild that needs upgrade rather than a new approval.
func printPending(w io.Writer, configFile string, entries []pending.Entry) {
	registered := map[string]bool{}
	if c, err := config.Load(configFile); err == nil {
		for _, b := range c.RegisteredBinaries {
			registered[b.Path] = true
		}
	}
	if len(entries) == 0 {
		fmt.Fprintln(w, "No pending binaries waiting for authorization.")
		return
	}
	fmt.Fprintf(w, "Found %d pending binaries waiting for authorization:\n\n", len(entries))
	for _, e := range entries {
		fmt.Fprintf(w, "Path:      %s\n", e.Path)
		fmt.Fprintf(w, "Hash:      %s\n", e.Hash)
		fmt.Fprintf(w, "Command:   %s\n", strings.Join(e.CLIArgs, " "))
		fmt.Fprintf(w, "Attempted: %s (%s, pid %d, uid %d)\n", e.InvokedAt.UTC().Format(time.RFC3339), plural(e.Attempts, "attempt"), e.PID, e.UID)
		if registered[e.Path] {
			fmt.Fprintf(w, "Note:      this path is registered with another hash; if this is a rebuild, run: keychain-auth upgrade %s\n", e.Path)
		}
		fmt.Fprintln(w, "----------------------------------------")
	}
}

func newApproveCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "approve [hash [path]]",
		Short: "Register a pending binary, with no rights until you grant some",
		Long: `Approve moves a binary from the pending queue into config.json with no
rights. The path comes from the queue unless given. The file at that path
is hashed again and approval is refused if it no longer matches.

Without arguments on a terminal, approve shows the queue as a list to pick
from (arrow keys or j/k, Enter to approve, q or Esc to cancel). Without
arguments and without a terminal, it prints the queue and exits with status 2.`,
		Args: rangeArgs(0, 2, "a hash and optionally a path, or no arguments to pick from the queue"),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := app.layout()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return approveFromQueue(app, l)
			}
			hash, err := config.NormalizeHash(args[0])
			if err != nil {
				return usagef("approve: invalid hash %q: %v", args[0], err)
			}
			path := ""
			if len(args) == 2 {
				path = args[1]
			}
			return approve(app, l, hash, path)
		},
	}
}

// approve registers the binary with hash, found at path or, when path is
// empty, at the path recorded in the pending queue.
func approve(app *App, l paths.Layout, hash, path string) error {
	if path == "" {
		entries, err := pending.List(l.PendingFile(), time.Now())
		if err != nil {
			return fmt.Errorf("approve: %w", err)
		}
		for _, e := range entries {
			if e.Hash == hash {
				path = e.Path
			}
		}
		if path == "" {
			return fmt.Errorf("approve: %s is not in the pending queue; pass the binary's path too, or see keychain-auth list-pending", hash)
		}
	}

	canonical, current, err := identity.HashFile(path)
	if err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	if current != hash {
		return fmt.Errorf("approve: %s now has hash %s, not %s; the file changed since it was queued, run it again and approve the new hash", canonical, current, hash)
	}

	var already bool
	var otherHashes []string
	err = config.Update(l.ConfigFile(), func(c *config.Config) error {
		for _, b := range c.LookupPath(canonical) {
			if b.Hash != hash {
				otherHashes = append(otherHashes, b.Hash)
			}
		}
		if c.Lookup(canonical, hash) != nil {
			already = true
			return nil
		}
		c.RegisteredBinaries = append(c.RegisteredBinaries, config.Binary{
			Path: canonical, Hash: hash, RegisteredAt: time.Now().UTC().Truncate(time.Second),
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	if _, _, err := pending.Remove(l.PendingFile(), hash); err != nil {
		return fmt.Errorf("approve: registered, but removing it from the pending queue failed: %w", err)
	}
	if already {
		fmt.Fprintf(app.Stdout, "%s with hash %s was already registered; its rights are unchanged (see keychain-auth check %s)\n", canonical, hash, canonical)
		return nil
	}
	fmt.Fprintf(app.Stdout, "Approved %s with hash %s (no rights yet)\n", canonical, hash)
	fmt.Fprintf(app.Stdout, "Grant rights with: keychain-auth grant %s --read SERVICE [--write SERVICE] [--search]\n", canonical)
	if len(otherHashes) > 0 {
		fmt.Fprintf(app.Stderr, "note: %s is also registered with hash %s and keeps that entry's rights. If this is a new build of the same program, keychain-auth upgrade %s moves them to the new hash instead; remove the old entry with keychain-auth revoke %s --remove and register again if you want only one.\n",
			canonical, strings.Join(otherHashes, ", "), canonical, canonical)
	}
	return nil
}
