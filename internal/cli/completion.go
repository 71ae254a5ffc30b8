package cli

import (
	"github.com/spf13/cobra"
)

func newCompletionCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script for bash, zsh or fish",
		Long: `Print a completion script for the given shell on stdout.

  bash: keychain-auth completion bash > /etc/bash_completion.d/keychain-auth
        (or, for one user: ~/.local/share/bash-completion/completions/keychain-auth)
  zsh:  keychain-auth completion zsh > "${fpath[1]}/_keychain-auth"
  fish: keychain-auth completion fish > ~/.config/fish/completions/keychain-auth.fish`,
		Args:      exactArgs(1, "a shell name: bash, zsh or fish"),
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(app.Stdout, true)
			case "zsh":
				return root.GenZshCompletion(app.Stdout)
			case "fish":
				return root.GenFishCompletion(app.Stdout, true)
			}
			return usagef("completion: unknown shell %q; use bash, zsh or fish", args[0])
		},
	}
}
