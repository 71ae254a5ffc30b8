package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func newManCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:    "man <dir>",
		Short:  "Write man pages for every command into a directory",
		Long:   "Write one roff man page per command (keychain-auth.1, keychain-auth-start.1, ...) into dir, which is created if missing. View one with: man -l dir/keychain-auth.1",
		Hidden: true,
		Args:   exactArgs(1, "an output directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("man: create %q: %w", dir, err)
			}
			header := &doc.GenManHeader{
				Title:   "KEYCHAIN-AUTH",
				Section: "1",
				Source:  "keychain-auth",
				Manual:  "keychain-auth manual",
			}
			root := cmd.Root()
			// The generated pages should not carry the generation date, so
			// that rebuilding them from the same source gives the same files.
			root.DisableAutoGenTag = true
			if err := doc.GenManTree(root, header, dir); err != nil {
				return fmt.Errorf("man: write pages to %q: %w", dir, err)
			}
			fmt.Fprintf(app.Stderr, "Wrote man pages to %s\n", dir)
			return nil
		},
	}
}
