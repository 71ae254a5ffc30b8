package cli

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/internal/identity"
)

// rightsFlags are the flags grant and revoke share.
type rightsFlags struct {
	read, write, searchIn []string
	search                bool
	uids                  []uint
}

func (r *rightsFlags) register(cmd *cobra.Command, verb string) {
	f := cmd.Flags()
	f.StringArrayVar(&r.read, "read", nil, verb+" the right to read SERVICE (repeatable)")
	f.StringArrayVar(&r.write, "write", nil, verb+" the right to write and delete in SERVICE (repeatable)")
	f.BoolVar(&r.search, "search", false, verb+" the search right for every service (search, prefix read, prefix delete)")
	f.StringArrayVar(&r.searchIn, "search-service", nil, verb+" the search right for SERVICE only (repeatable)")
	f.UintSliceVar(&r.uids, "uid", nil, verb+" use of the entry by this user ID (repeatable; in system mode an entry with no UIDs serves nobody)")
}

func (r *rightsFlags) empty() bool {
	return len(r.read) == 0 && len(r.write) == 0 && len(r.searchIn) == 0 && !r.search && len(r.uids) == 0
}

func (r *rightsFlags) uidList() []uint32 {
	out := make([]uint32, 0, len(r.uids))
	for _, u := range r.uids {
		out = append(out, uint32(u))
	}
	return out
}

func (r *rightsFlags) validate() error {
	for _, u := range r.uids {
		if u > 1<<32-1 {
			return usagef("--uid %d is not a valid user ID", u)
		}
	}
	for _, list := range [][]string{r.read, r.write, r.searchIn} {
		for _, s := range list {
			if s == "" {
				return usagef("service names must not be empty")
			}
		}
	}
	return nil
}

// registeredPath resolves arg to a canonical path without requiring the file
// to still hash the same, so rights can be changed for a binary being rebuilt.
func registeredPath(arg string) string {
	if p, err := identity.CanonicalPath(arg); err == nil {
		return p
	}
	return arg
}

func addAll(list []string, add []string) []string {
	for _, s := range add {
		if !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}

func removeAll(list []string, remove []string) []string {
	return slices.DeleteFunc(list, func(s string) bool { return slices.Contains(remove, s) })
}

// updateEntries applies fn to every entry registered at path.
func updateEntries(app *App, path string, fn func(b *config.Binary)) error {
	l, err := app.layout()
	if err != nil {
		return err
	}
	return config.Update(l.ConfigFile(), func(c *config.Config) error {
		found := false
		for i := range c.RegisteredBinaries {
			if c.RegisteredBinaries[i].Path == path {
				fn(&c.RegisteredBinaries[i])
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%q is not registered; register it first with: keychain-auth register %s", path, path)
		}
		return nil
	})
}

func newGrantCmd(app *App) *cobra.Command {
	var r rightsFlags
	cmd := &cobra.Command{
		Use:   "grant <path> [--read SERVICE] [--write SERVICE] [--search | --search-service SERVICE] [--uid UID]",
		Short: "Give a registered binary read, write or search rights, or let another user ID use it",
		Args:  exactArgs(1, "one binary path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r.empty() {
				return usagef("grant: name at least one right with --read, --write, --search, --search-service or --uid")
			}
			if err := r.validate(); err != nil {
				return err
			}
			path := registeredPath(args[0])
			err := updateEntries(app, path, func(b *config.Binary) {
				b.AllowedReadServices = addAll(b.AllowedReadServices, r.read)
				b.AllowedWriteServices = addAll(b.AllowedWriteServices, r.write)
				for _, u := range r.uidList() {
					if !slices.Contains(b.UIDs, u) {
						b.UIDs = append(b.UIDs, u)
					}
				}
				if r.search {
					b.CanSearch = config.SearchRight{All: true}
				} else if !b.CanSearch.All {
					b.CanSearch.Services = addAll(b.CanSearch.Services, r.searchIn)
				}
			})
			if err != nil {
				return fmt.Errorf("grant: %w", err)
			}
			fmt.Fprintf(app.Stdout, "Granted rights to %s\n", path)
			return nil
		},
	}
	r.register(cmd, "grant")
	return cmd
}

func newRevokeCmd(app *App) *cobra.Command {
	var r rightsFlags
	var all, remove bool
	cmd := &cobra.Command{
		Use:   "revoke <path> [--read SERVICE] [--write SERVICE] [--search | --search-service SERVICE] [--all] [--remove]",
		Short: "Take rights away from a registered binary; open connections lose them at their next request",
		Args:  exactArgs(1, "one binary path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r.empty() && !all && !remove {
				return usagef("revoke: name what to revoke with --read, --write, --search, --search-service, --uid, --all or --remove")
			}
			if err := r.validate(); err != nil {
				return err
			}
			path := registeredPath(args[0])
			if remove {
				l, err := app.layout()
				if err != nil {
					return err
				}
				err = config.Update(l.ConfigFile(), func(c *config.Config) error {
					before := len(c.RegisteredBinaries)
					c.RegisteredBinaries = slices.DeleteFunc(c.RegisteredBinaries, func(b config.Binary) bool { return b.Path == path })
					if len(c.RegisteredBinaries) == before {
						return fmt.Errorf("%q is not registered", path)
					}
					return nil
				})
				if err != nil {
					return fmt.Errorf("revoke: %w", err)
				}
				fmt.Fprintf(app.Stdout, "Removed the registration of %s\n", path)
				return nil
			}
			err := updateEntries(app, path, func(b *config.Binary) {
				if all {
					b.AllowedReadServices = nil
					b.AllowedWriteServices = nil
					b.CanSearch = config.SearchRight{}
					b.UIDs = nil
					return
				}
				b.AllowedReadServices = removeAll(b.AllowedReadServices, r.read)
				b.AllowedWriteServices = removeAll(b.AllowedWriteServices, r.write)
				uids := r.uidList()
				b.UIDs = slices.DeleteFunc(b.UIDs, func(u uint32) bool { return slices.Contains(uids, u) })
				if r.search {
					b.CanSearch = config.SearchRight{}
				}
				b.CanSearch.Services = removeAll(b.CanSearch.Services, r.searchIn)
			})
			if err != nil {
				return fmt.Errorf("revoke: %w", err)
			}
			fmt.Fprintf(app.Stdout, "Revoked rights from %s\n", path)
			return nil
		},
	}
	r.register(cmd, "revoke")
	cmd.Flags().BoolVar(&all, "all", false, "revoke every right but keep the registration")
	cmd.Flags().BoolVar(&remove, "remove", false, "remove the registration entirely")
	return cmd
}
