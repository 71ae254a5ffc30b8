package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/internal/daemon"
	"github.com/keychain-auth/keychain-auth/internal/pending"
	"github.com/keychain-auth/keychain-auth/internal/transport"
	"github.com/keychain-auth/keychain-auth/paths"
)

// statusReport is the stable --json form of status. Fields are only ever added.
type statusReport struct {
	DaemonRunning bool   `json:"daemon_running"`
	Version       string `json:"version"`
	PID           int    `json:"pid,omitempty"`
	Mode          string `json:"mode"`
	Backend       string `json:"backend,omitempty"`
	Protection    string `json:"protection,omitempty"`
	KeySource     string `json:"key_source,omitempty"`
	StartedAt     string `json:"started_at,omitempty"`
	ConfigPath    string `json:"config_path"`
	SocketPath    string `json:"socket_path"`
	AuditPath     string `json:"audit_path"`
	RequiresSudo  bool   `json:"requires_sudo"`
	// UptimeSeconds is whole seconds since the daemon started; 0 when it
	// is not running.
	UptimeSeconds int64 `json:"uptime_seconds"`
	// RegisteredBinaries and PendingEntries count the entries of
	// config.json and the unexpired entries of pending.json. A count is
	// null when its file cannot be read (system mode without sudo) or is
	// invalid.
	RegisteredBinaries *int `json:"registered_binaries"`
	PendingEntries     *int `json:"pending_entries"`
}

func newStatusCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show whether the daemon is running and where its files are (exit status 1 when it is not running)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := app.layout()
			if err != nil {
				return err
			}
			rep := statusReport{
				Version:      daemon.Version,
				Mode:         string(l.Mode),
				ConfigPath:   l.ConfigFile(),
				SocketPath:   l.Socket,
				AuditPath:    l.AuditFile(),
				RequiresSudo: l.Mode == paths.ModeSystem && os.Geteuid() != 0,
			}
			rep.DaemonRunning = transport.Probe(l.Socket)
			if rep.DaemonRunning {
				if st, err := daemon.ReadState(l.Socket); err == nil {
					rep.Version = st.Version
					rep.PID = st.PID
					rep.Backend = st.Backend
					rep.Protection = st.Protection
					rep.KeySource = st.KeySource
					rep.StartedAt = st.StartedAt.Format("2006-01-02T15:04:05Z07:00")
					rep.UptimeSeconds = int64(time.Since(st.StartedAt) / time.Second)
				}
			}
			countEntries(&rep, l.ConfigFile(), l.PendingFile())

			if asJSON {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printStatus(app, rep)
			}
			if !rep.DaemonRunning {
				return exitError{ExitError}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object with stable field names")
	return cmd
}

func printStatus(app *App, rep statusReport) {
	w := app.Stdout
	if rep.DaemonRunning {
		fmt.Fprintf(w, "Daemon:        running (pid %d)\n", rep.PID)
	} else {
		fmt.Fprintf(w, "Daemon:        not running (start it with: keychain-auth start)\n")
	}
	fmt.Fprintf(w, "Version:       %s\n", rep.Version)
	if rep.DaemonRunning && rep.StartedAt != "" {
		fmt.Fprintf(w, "Uptime:        %s (since %s)\n", time.Duration(rep.UptimeSeconds)*time.Second, rep.StartedAt)
	}
	fmt.Fprintf(w, "Mode:          %s\n", rep.Mode)
	if rep.Backend != "" {
		fmt.Fprintf(w, "Backend:       %s\n", rep.Backend)
		if rep.KeySource != "" {
			fmt.Fprintf(w, "Key source:    %s\n", rep.KeySource)
		}
		fmt.Fprintf(w, "Protection:    %s\n", rep.Protection)
	}
	fmt.Fprintf(w, "Config:        %s\n", rep.ConfigPath)
	fmt.Fprintf(w, "Socket:        %s\n", rep.SocketPath)
	fmt.Fprintf(w, "Audit log:     %s\n", rep.AuditPath)
	fmt.Fprintf(w, "Registered:    %s\n", countText(rep.RegisteredBinaries, "binary", "binaries", "(see keychain-auth list)"))
	fmt.Fprintf(w, "Pending:       %s\n", countText(rep.PendingEntries, "binary", "binaries", "waiting for approval (see keychain-auth list-pending)"))
	fmt.Fprintf(w, "Requires sudo: %t\n", rep.RequiresSudo)
}

func countText(n *int, one, many, rest string) string {
	if n == nil {
		return "unknown (the file cannot be read)"
	}
	if *n == 1 {
		return "1 " + one + " " + rest
	}
	return fmt.Sprintf("%d %s %s", *n, many, rest)
}

// countEntries fills the entry counts from the files, leaving a count nil
// when its file cannot be read or parsed.
func countEntries(rep *statusReport, configPath, pendingPath string) {
	if cfg, err := config.Load(configPath); err == nil {
		n := len(cfg.RegisteredBinaries)
		rep.RegisteredBinaries = &n
	}
	if entries, err := pending.List(pendingPath, time.Now()); err == nil {
		n := len(entries)
		rep.PendingEntries = &n
	}
}
