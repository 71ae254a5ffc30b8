package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keychain-auth/keychain-auth/internal/audit"
	"github.com/keychain-auth/keychain-auth/internal/identity"
)

func newAuditCmd(app *App) *cobra.Command {
	var f audit.Filter
	var since string
	var result string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show recent audit records; 'audit verify' checks the hash chain",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := app.layout()
			if err != nil {
				return err
			}
			if since != "" {
				d, derr := time.ParseDuration(since)
				if derr == nil {
					f.Since = time.Now().Add(-d)
				} else if f.Since, err = time.Parse(time.RFC3339, since); err != nil {
					return usagef("audit: --since %q is neither a duration (1h30m) nor an RFC 3339 time", since)
				}
			}
			f.Result = audit.Result(strings.ToUpper(result))
			switch f.Result {
			case "", audit.ResultAccepted, audit.ResultDenied, audit.ResultGranted, audit.ResultError:
			default:
				return usagef("audit: --result %q is not one of accepted, denied, granted, error", result)
			}
			// Records hold canonical paths, so a relative path or a symlink
			// given on the command line is resolved the same way.
			if f.Binary != "" && !strings.HasPrefix(f.Binary, "sha256:") {
				if p, err := identity.CanonicalPath(f.Binary); err == nil {
					f.Binary = p
				}
			}
			recs, err := audit.Read(l.AuditDir, f)
			if err != nil {
				return fmt.Errorf("audit: %w", err)
			}
			if asJSON {
				enc := json.NewEncoder(app.Stdout)
				for _, r := range recs {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
				return nil
			}
			for _, r := range recs {
				line := fmt.Sprintf("%s %-7s %-8s pid=%d uid=%d %s", r.Time.UTC().Format(time.RFC3339), r.Event, r.Result, r.PID, r.UID, r.BinaryPath)
				if r.Service != "" {
					line += fmt.Sprintf(" service=%s", r.Service)
				}
				if len(r.Targets) > 0 {
					line += fmt.Sprintf(" targets=%s", strings.Join(r.Targets, ","))
				}
				if r.Reason != "" {
					line += " reason=" + r.Reason
				}
				if r.VerifiedBy != "" {
					line += " verified_by=" + string(r.VerifiedBy)
				}
				fmt.Fprintln(app.Stdout, line)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Binary, "binary", "", "only records of this binary path or hash")
	fl.StringVar(&f.Service, "service", "", "only records for this service")
	fl.StringVar(&result, "result", "", "only records with this result: accepted, denied, granted or error")
	fl.StringVar(&since, "since", "", "only records newer than a duration ago (e.g. 2h) or an RFC 3339 time")
	fl.IntVarP(&f.Limit, "limit", "n", 50, "show at most this many of the most recent records (0 for all)")
	fl.BoolVar(&asJSON, "json", false, "print records as JSON Lines")
	cmd.AddCommand(newAuditVerifyCmd(app))
	return cmd
}

func newAuditVerifyCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain and report the first broken record (exit status 1 if broken)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := app.layout()
			if err != nil {
				return err
			}
			rep, err := audit.Verify(l.AuditDir)
			if err != nil {
				return fmt.Errorf("audit verify: %w", err)
			}
			if rep.OK() {
				fmt.Fprintf(app.Stdout, "Audit chain intact: %s (seq %d to %d) in %s\n", plural(rep.Records, "record"), rep.FirstSeq, rep.LastSeq, plural(len(rep.Files), "file"))
				if rep.MidChain {
					fmt.Fprintf(app.Stdout, "Records before seq %d were rotated away and cannot be checked.\n", rep.FirstSeq)
				}
				return nil
			}
			fmt.Fprintf(app.Stdout, "Audit chain broken (%s). First: %s\n", plural(len(rep.Breaks), "problem"), rep.Breaks[0])
			for _, b := range rep.Breaks[1:] {
				fmt.Fprintf(app.Stdout, "  also: %s\n", b)
			}
			return exitError{ExitError}
		},
	}
}
