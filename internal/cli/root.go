// Package cli implements the keychain-auth command line: the daemon's start
// command and the administration commands that edit config.json and
// pending.json under their file locks. Each subcommand lives in its own file.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keychain-auth/keychain-auth/paths"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// App carries the global flags and the standard streams.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Env looks up environment variables; os.LookupEnv when nil.
	Env paths.Env

	socket    string
	configDir string
	dataDir   string
	system    bool
}

// usageError marks errors caused by how the command was invoked.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitError carries an exit status with an optional message already printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Run executes the command line args (without the program name) and returns
// the process exit status.
func Run(app *App, args []string) int {
	if app.Stdin == nil {
		app.Stdin = os.Stdin
	}
	if app.Stdout == nil {
		app.Stdout = os.Stdout
	}
	if app.Stderr == nil {
		app.Stderr = os.Stderr
	}
	if app.Env == nil {
		app.Env = os.LookupEnv
	}

	root := newRoot(app)
	root.SetArgs(args)
	root.SetIn(app.Stdin)
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}

	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(app.Stderr, "keychain-auth: "+err.Error())
		return ExitUsage
	}
	// Cobra reports unknown commands and arguments with plain errors.
	if msg := err.Error(); strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") || strings.HasPrefix(msg, "accepts ") {
		fmt.Fprintln(app.Stderr, "keychain-auth: "+msg+"; run keychain-auth --help")
		return ExitUsage
	}
	fmt.Fprintln(app.Stderr, "keychain-auth: "+err.Error())
	return ExitError
}

func newRoot(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "keychain-auth",
		Short: "Give command-line programs secrets by the identity of their binary",
		Long: `keychain-auth is a per-user daemon between programs and the secret store.
A program connects to its socket; the daemon asks the kernel which process is
calling, hashes its executable, checks the policy in config.json, and only then
reads or writes secrets for it. Unknown programs are queued for approval.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())}
	})

	pf := root.PersistentFlags()
	pf.StringVar(&app.socket, "socket", "", "socket path (default: $KEYCHAIN_AUTH_SOCKET, then the platform default)")
	pf.StringVar(&app.configDir, "config-dir", "", "directory for config.json and pending.json; data and audit go to its data/ subdirectory unless --data-dir is set (default: $KEYCHAIN_AUTH_CONFIG_DIR, then the platform default)")
	pf.StringVar(&app.dataDir, "data-dir", "", "directory for the vault and audit log (default: $KEYCHAIN_AUTH_DATA_DIR, then the platform default)")
	pf.BoolVar(&app.system, "system", false, "use the Linux system-mode locations (/etc, /var/lib, /var/log, /run)")

	root.AddCommand(
		newStartCmd(app),
		newStatusCmd(app),
		newRegisterCmd(app),
		newUpgradeCmd(app),
		newListPendingCmd(app),
		newApproveCmd(app),
		newCheckCmd(app),
		newGrantCmd(app),
		newRevokeCmd(app),
		newListCmd(app),
		newAuditCmd(app),
		newKeygenCmd(app),
		newSignCmd(app),
		newVerifyCmd(app),
		newTrustCmd(app),
		newInstallCmd(app),
		newUninstallCmd(app),
		newCompletionCmd(app),
		newManCmd(app),
	)
	return root
}

// layout resolves file locations from the global flags and environment.
func (a *App) layout() (paths.Layout, error) {
	mode := paths.ModeUser
	if a.system {
		mode = paths.ModeSystem
	}
	opts := paths.Options{Mode: mode, Socket: a.socket, ConfigDir: a.configDir, DataDir: a.dataDir}
	l, err := paths.Current(opts)
	if err != nil {
		return l, fmt.Errorf("resolve file locations: %w; set --config-dir and --socket", err)
	}
	return l, nil
}

// exactArgs is cobra.ExactArgs reporting a usage error.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %s (got %d arguments); see %s --help", cmd.Name(), names, len(args), cmd.CommandPath())
		}
		return nil
	}
}

func rangeArgs(min, max int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || len(args) > max {
			return usagef("%s takes %s (got %d arguments); see %s --help", cmd.Name(), names, len(args), cmd.CommandPath())
		}
		return nil
	}
}

// plural returns "1 attempt" or "n attempts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
