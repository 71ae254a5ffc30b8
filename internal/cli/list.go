package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/internal/identity"
)

func newListCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List registered binaries and their rights",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := app.layout()
			if err != nil {
				return err
			}
			c, err := config.Load(l.ConfigFile())
			if err != nil {
				return fmt.Errorf("list: %w", err)
			}
			if asJSON {
				bins := c.RegisteredBinaries
				if bins == nil {
					bins = []config.Binary{}
				}
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(bins)
			}
			if len(c.RegisteredBinaries) == 0 {
				fmt.Fprintln(app.Stdout, "No registered binaries. Register one with: keychain-auth register <path>")
				return nil
			}
			for i := range c.RegisteredBinaries {
				printBinary(app.Stdout, &c.RegisteredBinaries[i])
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the registered binaries as a JSON array")
	return cmd
}

func printBinary(w io.Writer, b *config.Binary) {
	fmt.Fprintf(w, "Path:    %s\n", b.Path)
	fmt.Fprintf(w, "Hash:    %s\n", b.Hash)
	if b.Signer != "" {
		fmt.Fprintf(w, "Signer:  %s\n", b.Signer)
	}
	fmt.Fprintf(w, "Read:    %s\n", listOrNone(b.AllowedReadServices))
	fmt.Fprintf(w, "Write:   %s\n", listOrNone(b.AllowedWriteServices))
	switch {
	case b.CanSearch.All:
		fmt.Fprintf(w, "Search:  every allowed service\n")
	default:
		fmt.Fprintf(w, "Search:  %s\n", listOrNone(b.CanSearch.Services))
	}
	if len(b.UIDs) > 0 {
		fmt.Fprintf(w, "UIDs:    %s\n", strings.Trim(fmt.Sprint(b.UIDs), "[]"))
	}
	fmt.Fprintln(w, "----------------------------------------")
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

func newCheckCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "check <path> [service]",
		Short: "Tell whether a binary is registered with its current hash (and may use the service); exit status 0 only if so",
		Args:  rangeArgs(1, 2, "a binary path and optionally a service"),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := app.layout()
			if err != nil {
				return err
			}
			path, hash, err := identity.HashFile(args[0])
			if err != nil {
				return fmt.Errorf("check: %w", err)
			}
			c, err := config.Load(l.ConfigFile())
			if err != nil {
				return fmt.Errorf("check: %w", err)
			}
			b := c.Lookup(path, hash)
			if b == nil {
				if len(c.LookupPath(path)) > 0 {
					fmt.Fprintf(app.Stdout, "%s is registered with another hash; its current hash %s is not. After a rebuild run: keychain-auth upgrade %s\n", path, hash, path)
				} else {
					fmt.Fprintf(app.Stdout, "%s (hash %s) is not registered. Register it with: keychain-auth register %s\n", path, hash, path)
				}
				return exitError{ExitError}
			}
			fmt.Fprintf(app.Stdout, "%s is registered.\n", path)
			printBinary(app.Stdout, b)
			if len(args) == 2 {
				svc := args[1]
				if !b.CanRead(svc) && !b.CanWrite(svc) {
					fmt.Fprintf(app.Stdout, "It has no rights on service %q. Grant them with: keychain-auth grant %s --read %s\n", svc, path, svc)
					return exitError{ExitError}
				}
				fmt.Fprintf(app.Stdout, "Service %q: read=%t write=%t search=%t\n", svc, b.CanRead(svc), b.CanWrite(svc), b.CanSearchIn(svc))
			}
			return nil
		},
	}
}
