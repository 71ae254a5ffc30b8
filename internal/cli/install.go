package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keychain-auth/keychain-auth/internal/atomicfile"
	"github.com/keychain-auth/keychain-auth/paths"
)

// installFlags are the flags shared by install and uninstall.
type installFlags struct {
	dryRun bool
	binary string
	// root prepares an image or chroot (system mode only): paths are
	// written below it and systemctl and useradd get --root.
	root string
}

func newInstallCmd(app *App) *cobra.Command {
	var f installFlags
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install the daemon as a service that starts at login (or at boot with --system)",
		Long: `Install writes a service definition for the daemon and enables it:

  Linux:        a systemd user service and socket in ~/.config/systemd/user;
                the socket starts the daemon on the first connection.
  macOS:        a launchd agent in ~/Library/LaunchAgents.
  Linux system: with --system (as root), a keychain-auth service user, the
                directories /etc/keychain-auth, /var/lib/keychain-auth and
                /var/log/keychain-auth, and a hardened system unit.

Running it again rewrites only what changed. --dry-run prints the files and
commands instead. The files point at this executable (or --binary), so
install from a stable location such as /usr/local/bin.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := app.layout()
			if err != nil {
				return err
			}
			if l.Mode == paths.ModeSystem {
				return installSystem(app, l, f)
			}
			return installUser(app, l, f)
		},
	}
	addInstallFlags(cmd, &f)
	return cmd
}

func newUninstallCmd(app *App) *cobra.Command {
	var f installFlags
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Stop and remove the service that install created; config, vault and audit log stay",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := app.layout()
			if err != nil {
				return err
			}
			if l.Mode == paths.ModeSystem {
				return uninstallSystem(app, l, f)
			}
			return uninstallUser(app, l, f)
		},
	}
	addInstallFlags(cmd, &f)
	return cmd
}

func addInstallFlags(cmd *cobra.Command, f *installFlags) {
	fl := cmd.Flags()
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the files and commands instead of writing and running them")
	fl.StringVar(&f.binary, "binary", "", "absolute path of the keychain-auth executable the service runs (default: this executable)")
	fl.StringVar(&f.root, "root", "", "with --system: prepare the image or chroot at this directory instead of the running system")
	fl.MarkHidden("root")
}

// userServiceParams resolves where the user service files go and, when
// withExecutable is set, what they run, from the environment of the
// installing user.
func userServiceParams(app *App, l paths.Layout, f installFlags, withExecutable bool) (serviceParams, error) {
	exe := ""
	if withExecutable {
		var err error
		if exe, err = serviceExecutable(f.binary); err != nil {
			return serviceParams{}, err
		}
	}
	home := app.getenv("HOME")
	if home == "" {
		return serviceParams{}, errors.New("install: HOME is not set")
	}
	configHome := app.getenv("XDG_CONFIG_HOME")
	if configHome == "" || !filepath.IsAbs(configHome) {
		configHome = filepath.Join(home, ".config")
	}

	p := serviceParams{
		Executable: exe,
		UnitDir:    filepath.Join(configHome, "systemd", "user"),
		PlistDir:   filepath.Join(home, "Library", "LaunchAgents"),
		LogDir:     l.AuditDir,
	}
	// Overrides given now are written into the service, so the daemon uses
	// the same files as this command. Without them the daemon resolves the
	// defaults from the service manager's environment.
	if app.configDir != "" || app.getenv(paths.EnvConfigDir) != "" {
		p.GlobalArgs = append(p.GlobalArgs, "--config-dir", l.ConfigDir)
	}
	if app.dataDir != "" || app.getenv(paths.EnvDataDir) != "" {
		p.GlobalArgs = append(p.GlobalArgs, "--data-dir", l.DataDir)
	}
	if app.socket != "" || app.getenv(paths.EnvSocket) != "" {
		p.GlobalArgs = append(p.GlobalArgs, "--socket", l.Socket)
		p.Socket = l.Socket
	}
	return p, nil
}

// serviceExecutable returns the canonical path of the executable the
// service runs and checks that it exists.
func serviceExecutable(binary string) (string, error) {
	exe := binary
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return "", fmt.Errorf("install: find this executable: %w; pass --binary", err)
		}
	}
	if !filepath.IsAbs(exe) {
		return "", usagef("install: --binary %q is not an absolute path", binary)
	}
	canonical, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return "", fmt.Errorf("install: executable %q: %w", exe, err)
	}
	fi, err := os.Stat(canonical)
	if err != nil {
		return "", fmt.Errorf("install: executable %q: %w", canonical, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("install: %q is not an executable file; pass --binary with the keychain-auth executable", canonical)
	}
	if strings.Contains(canonical, string(filepath.Separator)+"go-build") {
		return "", fmt.Errorf("install: %q is a temporary build from go run; build or install keychain-auth first, then run install from there (or pass --binary)", canonical)
	}
	return canonical, nil
}

func installUser(app *App, l paths.Layout, f installFlags) error {
	if f.root != "" {
		return usagef("install: --root works only with --system")
	}
	p, err := userServiceParams(app, l, f, true)
	if err != nil {
		return err
	}
	files, err := userServiceFiles(runtime.GOOS, p)
	if err != nil {
		return err
	}
	steps := userEnableCommands(runtime.GOOS, files)

	if f.dryRun {
		printDryRun(app, files, steps)
		return nil
	}
	if err := writeServiceFiles(app, files); err != nil {
		return err
	}
	if err := runSteps(app, "install", steps); err != nil {
		return err
	}
	fmt.Fprintf(app.Stdout, "Check it with: %s\n", userCheckCommand(runtime.GOOS))
	return nil
}

func uninstallUser(app *App, l paths.Layout, f installFlags) error {
	if f.root != "" {
		return usagef("uninstall: --root works only with --system")
	}
	p, err := userServiceParams(app, l, f, false)
	if err != nil {
		return err
	}
	files, err := userServiceFiles(runtime.GOOS, p)
	if err != nil {
		return err
	}
	var present []serviceFile
	for _, sf := range files {
		if _, err := os.Lstat(sf.Path); err == nil {
			present = append(present, sf)
		}
	}
	if len(present) == 0 {
		fmt.Fprintln(app.Stdout, "No keychain-auth user service is installed; nothing to remove.")
		return nil
	}
	stop, after := userDisableCommands(runtime.GOOS)

	if f.dryRun {
		printSteps(app, stop)
		for _, sf := range present {
			fmt.Fprintf(app.Stdout, "Would remove %s\n", sf.Path)
		}
		printSteps(app, after)
		return nil
	}
	// A failure to stop is reported, but the files are still removed so
	// that the service does not come back at the next login.
	stopErr := runSteps(app, "uninstall", stop)
	for _, sf := range present {
		if err := os.Remove(sf.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("uninstall: remove %q: %w", sf.Path, err)
		}
		fmt.Fprintf(app.Stdout, "Removed %s\n", sf.Path)
	}
	if err := runSteps(app, "uninstall", after); err != nil && stopErr == nil {
		stopErr = err
	}
	fmt.Fprintf(app.Stdout, "Kept your policy in %s and secrets and audit log in %s; delete them yourself if you no longer need them.\n", l.ConfigDir, l.DataDir)
	return stopErr
}

// command is one external command install runs.
type command struct {
	args []string
	// optional commands may fail without failing the step (launchctl
	// bootout of an agent that is not loaded).
	optional bool
}

// String returns the command as a user would type it in a POSIX shell.
func (c command) String() string {
	words := make([]string, len(c.args))
	for i, a := range c.args {
		words[i] = a
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`|&;<>()*?[]#~") {
			words[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(words, " ")
}

func userEnableCommands(goos string, files []serviceFile) []command {
	if goos == "darwin" {
		target := "gui/" + strconv.Itoa(os.Getuid())
		return []command{
			{args: []string{"launchctl", "bootout", target + "/" + launchdLabel}, optional: true},
			{args: []string{"launchctl", "bootstrap", target, files[0].Path}},
		}
	}
	return []command{
		{args: []string{"systemctl", "--user", "daemon-reload"}},
		{args: []string{"systemctl", "--user", "enable", "--now", socketUnitName, unitName}},
	}
}

// userDisableCommands returns the commands that stop and disable the
// service, and those to run after its files are removed.
func userDisableCommands(goos string) (stop, after []command) {
	if goos == "darwin" {
		target := "gui/" + strconv.Itoa(os.Getuid())
		return []command{{args: []string{"launchctl", "bootout", target + "/" + launchdLabel}, optional: true}}, nil
	}
	return []command{{args: []string{"systemctl", "--user", "disable", "--now", unitName, socketUnitName}}},
		[]command{{args: []string{"systemctl", "--user", "daemon-reload"}}}
}

func userCheckCommand(goos string) string {
	if goos == "darwin" {
		return "launchctl print gui/" + strconv.Itoa(os.Getuid()) + "/" + launchdLabel + " (and keychain-auth status)"
	}
	return "systemctl --user status keychain-auth (and keychain-auth status)"
}

// writeServiceFiles writes each file whose content differs, atomically.
func writeServiceFiles(app *App, files []serviceFile) error {
	for _, sf := range files {
		old, err := os.ReadFile(sf.Path)
		if err == nil && bytes.Equal(old, []byte(sf.Content)) {
			fmt.Fprintf(app.Stdout, "Unchanged %s\n", sf.Path)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(sf.Path), 0o755); err != nil {
			return fmt.Errorf("install: create %q: %w", filepath.Dir(sf.Path), err)
		}
		if err := atomicfile.WriteFile(sf.Path, []byte(sf.Content), fs.FileMode(sf.Perm)); err != nil {
			return fmt.Errorf("install: %w", err)
		}
		fmt.Fprintf(app.Stdout, "Wrote %s\n", sf.Path)
	}
	return nil
}

func printDryRun(app *App, files []serviceFile, steps []command) {
	for _, sf := range files {
		fmt.Fprintf(app.Stdout, "# %s (mode %#o)\n%s\n", sf.Path, sf.Perm, sf.Content)
	}
	printSteps(app, steps)
}

func printSteps(app *App, steps []command) {
	for _, c := range steps {
		fmt.Fprintf(app.Stdout, "Would run: %s\n", c)
	}
}

// runSteps runs the commands in order when their program exists in PATH,
// and otherwise prints them for the user to run. A failing command stops
// the steps with an error that quotes its output.
func runSteps(app *App, op string, steps []command) error {
	for _, c := range steps {
		prog, err := app.lookPath(c.args[0])
		if err != nil {
			fmt.Fprintf(app.Stdout, "%s not found; run yourself: %s\n", c.args[0], c)
			continue
		}
		cmd := exec.Command(prog, c.args[1:]...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err = cmd.Run()
		if err == nil {
			fmt.Fprintf(app.Stdout, "Ran %s\n", c)
			continue
		}
		if c.optional {
			continue
		}
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s: %s failed: %s; the files are in place, fix the cause and run it again", op, c, msg)
	}
	return nil
}

// getenv looks up an environment variable through app.Env.
func (a *App) getenv(key string) string {
	v, _ := a.Env(key)
	return v
}

// lookPath finds an executable in the PATH of app.Env, so that a test can
// put stand-ins for systemctl and useradd first.
func (a *App) lookPath(name string) (string, error) {
	for _, dir := range filepath.SplitList(a.getenv("PATH")) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q not found in PATH", name)
}
