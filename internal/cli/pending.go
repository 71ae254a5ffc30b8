package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/internal/identity"
	"github.com/keychain-auth/keychain-auth/internal/pending"
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
			if len(entries) == 0 {
				fmt.Fprintln(app.Stdout, "No pending binaries waiting for authorization.")
				return nil
			}
			fmt.Fprintf(app.Stdout, "Found %d pending binaries waiting for authorization:\n\n", len(entries))
			for _, e := range entries {
				fmt.Fprintf(app.Stdout, "Path:      %s\n", e.Path)
				fmt.Fprintf(app.Stdout, "Hash:      %s\n", e.Hash)
				fmt.Fprintf(app.Stdout, "Command:   %s\n", strings.Join(e.CLIArgs, " "))
				fmt.Fprintf(app.Stdout, "Attempted: %s (%d attempts, pid %d, uid %d)\n", e.InvokedAt.UTC().Format(time.RFC3339), e.Attempts, e.PID, e.UID)
				fmt.Fprintln(app.Stdout, "----------------------------------------")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the queue as a JSON array")
	return cmd
}

func newApproveCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "approve <hash> [path]",
		Short: "Register a pending binary, with no permissions until you grant some",
		Long: `Approve moves a binary from the pending queue into config.json with no
permissions. The path comes from the queue unless given. The file at that path
is hashed again and approval is refused if it no longer matches.`,
		Args: rangeArgs(1, 2, "a hash and optionally a path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := app.layout()
			if err != nil {
				return err
			}
			hash, err := config.NormalizeHash(args[0])
			if err != nil {
				return usagef("approve: invalid hash %q: %v", args[0], err)
			}

			path := ""
			if len(args) == 2 {
				path = args[1]
			} else {
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

			err = config.Update(l.ConfigFile(), func(c *config.Config) error {
				if c.Lookup(canonical, hash) != nil {
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
			fmt.Fprintf(app.Stdout, "Approved %s with hash %s (no permissions yet)\n", canonical, hash)
			fmt.Fprintf(app.Stdout, "Grant access with: keychain-auth grant %s --read SERVICE\n", canonical)
			return nil
		},
	}
}
