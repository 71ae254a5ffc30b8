package cli

import (
	"context"
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/keychain-auth/keychain-auth/internal/daemon"
	"github.com/keychain-auth/keychain-auth/internal/identity"
	"github.com/keychain-auth/keychain-auth/internal/server"
)

func newStartCmd(app *App) *cobra.Command {
	var opts daemon.Options
	var debug bool
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Run the daemon in the foreground until SIGINT or SIGTERM",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := app.layout()
			if err != nil {
				return err
			}
			level := slog.LevelInfo
			if debug {
				level = slog.LevelDebug
			}
			opts.Layout = l
			opts.Logger = slog.New(slog.NewTextHandler(app.Stderr, &slog.HandlerOptions{Level: level}))

			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return daemon.Run(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Backend, "backend", "", "secret store: auto, vault, secret-service (Linux), keychain (macOS), wincred (Windows) or memory (default: the config's backend, else vault)")
	f.StringVar(&opts.KeyFile, "key-file", "", "vault key file (default: vault.key in the data directory)")
	f.StringVar(&opts.PassphraseFile, "passphrase-file", "", "unlock the vault with a passphrase read from this file instead of a key file (default: the file named by $KEYCHAIN_AUTH_PASSPHRASE_FILE, if set)")
	f.BoolVar(&opts.PassphrasePrompt, "passphrase-prompt", false, "unlock the vault with a passphrase typed at the terminal instead of a key file")
	f.DurationVar(&opts.StoreTimeout, "store-timeout", 0, "time limit for each call to the Secret Service (default 2s)")
	f.DurationVar(&opts.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "close a connection after this long without a request")
	f.IntVar(&opts.MaxConns, "max-connections", server.DefaultMaxConns, "maximum open connections; the longest-idle one is closed to admit another")
	f.IntVar(&opts.MaxConnsPerPID, "max-connections-per-process", server.DefaultMaxConnsPerPID, "maximum open connections from one process")
	f.Int64Var(&opts.AuditMaxSize, "audit-max-size", 10<<20, "rotate the audit log when it reaches this many bytes")
	f.Int64Var(&opts.MaxBinarySize, "max-binary-size", identity.DefaultMaxSize, "reject callers whose executable is larger than this many bytes")
	f.BoolVar(&debug, "debug", false, "log debug messages")
	// Benchmarks compare against a daemon without the hash cache; users
	// have no reason to set this, so it is hidden from the help.
	f.BoolVar(&opts.NoHashCache, "no-hash-cache", false, "re-hash the caller's executable on every connection (for benchmarks)")
	f.MarkHidden("no-hash-cache")
	return cmd
}
