// Package daemon assembles the keychain-auth daemon from its parts: the
// endpoint, the secret store, the policy, the audit log and the server.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/keychain-auth/keychain-auth/internal/atomicfile"
	"github.com/keychain-auth/keychain-auth/internal/audit"
	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/internal/identity"
	"github.com/keychain-auth/keychain-auth/internal/pending"
	"github.com/keychain-auth/keychain-auth/internal/server"
	"github.com/keychain-auth/keychain-auth/paths"
)

// Version is the daemon's version, set at build time with
// -ldflags "-X github.com/keychain-auth/keychain-auth/internal/daemon.Version=...".
var Version = "0.1.0-dev"

// Options configure Run.
type Options struct {
	Layout paths.Layout
	Logger *slog.Logger

	// Backend is auto, vault, secret-service or memory; empty means the
	// config file's choice, else vault.
	Backend string
	// KeyFile is the vault key file; empty means <data dir>/vault.key.
	KeyFile string
	// PassphraseFile, when set, unlocks the vault with a passphrase read from it.
	PassphraseFile string
	// PassphrasePrompt unlocks the vault with a passphrase typed at the
	// controlling terminal.
	PassphrasePrompt bool

	// StoreTimeout bounds each call to a store that talks to another
	// process (the Secret Service); zero means that backend's default.
	StoreTimeout time.Duration

	IdleTimeout    time.Duration
	MaxConns       int
	MaxConnsPerPID int
	AuditMaxSize   int64
	// MaxBinarySize is the largest caller executable hashed, in bytes;
	// zero means identity.DefaultMaxSize.
	MaxBinarySize int64

	// NoHashCache re-hashes the caller's executable on every connection.
	// It is for benchmarks that measure what the hash cache saves.
	NoHashCache bool
}

// State is the running daemon's status record, published next to its socket
// for the status command. It contains no secret.
type State struct {
	PID        int       `json:"pid"`
	Version    string    `json:"version"`
	Mode       string    `json:"mode"`
	Backend    string    `json:"backend"`
	Protection string    `json:"protection"`
	KeySource  string    `json:"key_source,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	ConfigPath string    `json:"config_path"`
	SocketPath string    `json:"socket_path"`
	AuditPath  string    `json:"audit_path"`
}

// StatePath returns where the daemon for socket writes its State.
func StatePath(socket string) string {
	return socket + ".state.json"
}

// ReadState reads the State published for socket.
func ReadState(socket string) (*State, error) {
	data, err := os.ReadFile(StatePath(socket))
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("parse %q: %w", StatePath(socket), err)
	}
	return &st, nil
}

// Run starts the daemon and serves until ctx is done. Every failure to
// start is returned with the step that failed.
func Run(ctx context.Context, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	l := opts.Layout

	if err := hardenProcess(); err != nil {
		return fmt.Errorf("harden daemon process: %w", err)
	}
	for _, dir := range []string{l.ConfigDir, l.DataDir, l.AuditDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create directory %q: %w", dir, err)
		}
	}

	cfgCache, err := config.NewCache(l.ConfigFile(), log)
	if err != nil {
		return fmt.Errorf("load policy: %w", err)
	}

	// Listening first makes a second daemon fail with "already running"
	// instead of waiting on the first one's vault lock. Connections wait in
	// the backlog until Serve starts.
	ln, err := listen(l, log)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()

	backend := opts.Backend
	if backend == "" {
		backend = cfgCache.Current().Backend
	}
	st, info, err := openStore(ctx, backend, opts, log)
	if err != nil {
		return err
	}
	defer st.Close()

	auditLog, err := audit.Open(l.AuditDir, audit.Options{MaxSize: opts.AuditMaxSize})
	if err != nil {
		return fmt.Errorf("open audit log in %q: %w", l.AuditDir, err)
	}
	defer auditLog.Close()
	if torn, ok := auditLog.TornTail(); ok {
		log.Warn("audit log ends in a partial record, probably from a crash; audit verify will report it", "detail", fmt.Sprintf("%+v", torn))
	}
	// Logging the chain head at start and stop lets an operator notice
	// whole records cut from the end of the log, which the chain alone
	// cannot show.
	seq, head := auditLog.Last()
	log.Info("audit log opened", "path", l.AuditFile(), "last_seq", seq, "last_hash", head)
	defer func() {
		seq, head := auditLog.Last()
		log.Info("audit log closed", "last_seq", seq, "last_hash", head)
	}()

	queue := pending.NewQueue(l.PendingFile(), pending.QueueOptions{Logger: log})
	defer queue.Close()

	selfPath, selfHash := "", ""
	if exe, err := os.Executable(); err == nil {
		if p, h, err := identity.HashFile(exe); err == nil {
			selfPath, selfHash = p, h
		}
	}

	state := State{
		PID: os.Getpid(), Version: Version, Mode: string(l.Mode),
		Backend: info.name, Protection: info.protection, KeySource: info.keySource,
		StartedAt: time.Now().UTC(), ConfigPath: l.ConfigFile(), SocketPath: ln.Path(),
		AuditPath: l.AuditFile(),
	}
	if err := writeState(state); err != nil {
		return err
	}
	defer os.Remove(StatePath(ln.Path()))

	srv := server.New(server.Config{
		Store:          st,
		Policy:         cfgCache,
		Pending:        withNotifications(queue, l.Mode, log),
		Audit:          auditLog,
		Resolver:       identity.NewResolver(identity.Options{MaxSize: opts.MaxBinarySize, DisableCache: opts.NoHashCache}),
		Logger:         log,
		Mode:           l.Mode,
		SelfPath:       selfPath,
		SelfHash:       selfHash,
		IdleTimeout:    opts.IdleTimeout,
		MaxConns:       opts.MaxConns,
		MaxConnsPerPID: opts.MaxConnsPerPID,
	})

	log.Info("listening on "+ln.Path(), "socket", ln.Path(), "backend", info.name, "mode", l.Mode, "version", Version, "pid", os.Getpid(), "config", l.ConfigFile())
	err = srv.Serve(ctx, ln)
	log.Info("stopped", "socket", ln.Path())
	return err
}

func writeState(st State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	path := StatePath(st.SocketPath)
	if err := atomicfile.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write daemon state %q: %w", path, err)
	}
	return nil
}

var errUnknownBackend = errors.New("unknown backend")
