//go:build unix

package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/keychain-auth/keychain-auth/paths"
)

// systemDir is one directory of the system-mode layout.
type systemDir struct {
	path string
	perm fs.FileMode
}

// systemDirs are created for the service user. All are 0700: only the
// daemon (and root) read the policy, the vault and the audit log.
var systemDirs = []systemDir{
	{path: "/etc/keychain-auth", perm: 0o700},
	{path: "/var/lib/keychain-auth", perm: 0o700},
	{path: "/var/log/keychain-auth", perm: 0o700},
}

const systemUnitPath = "/etc/systemd/system/" + unitName

// systemTarget is the system being prepared: the running one (root "/")
// or an image mounted at root.
type systemTarget struct {
	root string
}

func (t systemTarget) live() bool { return t.root == "/" }

// path returns p inside the target.
func (t systemTarget) path(p string) string { return filepath.Join(t.root, p) }

func newSystemTarget(op string, l paths.Layout, app *App, f installFlags) (systemTarget, error) {
	if runtime.GOOS != "linux" {
		return systemTarget{}, fmt.Errorf("%s --system: system mode exists only on Linux", op)
	}
	if app.configDir != "" || app.dataDir != "" || app.socket != "" {
		return systemTarget{}, usagef("%s --system uses the fixed locations /etc/keychain-auth, /var/lib/keychain-auth, /var/log/keychain-auth and /run/keychain-auth; drop --config-dir, --data-dir and --socket", op)
	}
	t := systemTarget{root: "/"}
	if f.root != "" {
		if !filepath.IsAbs(f.root) {
			return t, usagef("%s: --root %q is not an absolute path", op, f.root)
		}
		t.root = filepath.Clean(f.root)
	}
	if !f.dryRun && os.Geteuid() != 0 {
		return t, fmt.Errorf("%s --system must run as root; try: sudo keychain-auth %s --system (or add --dry-run to see what it does)", op, op)
	}
	return t, nil
}

func installSystem(app *App, l paths.Layout, f installFlags) error {
	t, err := newSystemTarget("install", l, app, f)
	if err != nil {
		return err
	}
	exe, err := systemExecutable(t, f.binary)
	if err != nil {
		return err
	}
	unit := serviceFile{Path: t.path(systemUnitPath), Content: systemSystemdUnit(serviceParams{Executable: exe}), Perm: 0o644}

	account, err := lookupServiceUser(t)
	if err != nil && !errors.Is(err, errNoServiceUser) {
		return fmt.Errorf("install: %w", err)
	}
	var steps []command
	if account == nil {
		steps = append(steps, command{args: useraddArgs(t)})
	}
	enable := systemEnableCommands(t)

	if f.dryRun {
		fmt.Fprintf(app.Stdout, "# %s (mode %#o)\n%s\n", unit.Path, unit.Perm, unit.Content)
		printSteps(app, steps)
		for _, d := range systemDirs {
			fmt.Fprintf(app.Stdout, "Would create %s (mode %#o, owner %s)\n", t.path(d.path), d.perm, serviceUserName)
		}
		printSteps(app, enable)
		return nil
	}

	if account == nil {
		if err := runRequired(app, "install", steps); err != nil {
			return err
		}
		if account, err = lookupServiceUser(t); err != nil {
			return fmt.Errorf("install: after useradd: %w", err)
		}
		fmt.Fprintf(app.Stdout, "Created system user %s (uid %d)\n", serviceUserName, account.uid)
	}
	for _, d := range systemDirs {
		if err := prepareSystemDir(t.path(d.path), d.perm, account); err != nil {
			return fmt.Errorf("install: %w", err)
		}
		fmt.Fprintf(app.Stdout, "Prepared %s (mode %#o, owner %s)\n", t.path(d.path), d.perm, serviceUserName)
	}
	if err := writeServiceFiles(app, []serviceFile{unit}); err != nil {
		return err
	}
	if err := runSteps(app, "install", enable); err != nil {
		return err
	}
	if t.live() {
		fmt.Fprintln(app.Stdout, "Check it with: systemctl status keychain-auth (and keychain-auth --system status)")
		fmt.Fprintln(app.Stdout, "Administer it as the service user, so that the files stay readable by the daemon: sudo -u keychain-auth keychain-auth --system list-pending")
	}
	return nil
}

func uninstallSystem(app *App, l paths.Layout, f installFlags) error {
	t, err := newSystemTarget("uninstall", l, app, f)
	if err != nil {
		return err
	}
	unitPath := t.path(systemUnitPath)
	if _, err := os.Lstat(unitPath); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintln(app.Stdout, "No keychain-auth system service is installed; nothing to remove.")
		return nil
	}
	stop := []command{{args: []string{"systemctl", "disable", "--now", unitName}}}
	after := []command{{args: []string{"systemctl", "daemon-reload"}}}
	if !t.live() {
		stop = []command{{args: []string{"systemctl", "--root=" + t.root, "disable", unitName}}}
		after = nil
	}

	if f.dryRun {
		printSteps(app, stop)
		fmt.Fprintf(app.Stdout, "Would remove %s\n", unitPath)
		printSteps(app, after)
		return nil
	}
	stopErr := runSteps(app, "uninstall", stop)
	if err := os.Remove(unitPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("uninstall: remove %q: %w", unitPath, err)
	}
	fmt.Fprintf(app.Stdout, "Removed %s\n", unitPath)
	if err := runSteps(app, "uninstall", after); err != nil && stopErr == nil {
		stopErr = err
	}
	fmt.Fprintf(app.Stdout, "Kept the user %s and %s; back them up, then remove them with userdel %s and rm -r if you no longer need them.\n",
		serviceUserName, strings.Join(systemDirPaths(t), ", "), serviceUserName)
	return stopErr
}

func systemDirPaths(t systemTarget) []string {
	var out []string
	for _, d := range systemDirs {
		out = append(out, t.path(d.path))
	}
	return out
}

func systemEnableCommands(t systemTarget) []command {
	if !t.live() {
		return []command{{args: []string{"systemctl", "--root=" + t.root, "enable", unitName}}}
	}
	return []command{
		{args: []string{"systemctl", "daemon-reload"}},
		{args: []string{"systemctl", "enable", "--now", unitName}},
	}
}

func useraddArgs(t systemTarget) []string {
	shell := "/usr/sbin/nologin"
	for _, s := range []string{"/usr/sbin/nologin", "/sbin/nologin", "/bin/false"} {
		if _, err := os.Stat(t.path(s)); err == nil {
			shell = s
			break
		}
	}
	args := []string{"useradd", "--system", "--user-group", "--no-create-home",
		"--home-dir", "/var/lib/keychain-auth", "--shell", shell,
		"--comment", "keychain-auth daemon"}
	if !t.live() {
		args = append(args, "--root", t.root)
	}
	return append(args, serviceUserName)
}

// runRequired runs steps whose program must exist.
func runRequired(app *App, op string, steps []command) error {
	for _, c := range steps {
		if _, err := app.lookPath(c.args[0]); err != nil {
			return fmt.Errorf("%s: %s not found; install it (Debian: the passwd package) or run yourself: %s", op, c.args[0], c)
		}
	}
	return runSteps(app, op, steps)
}

// serviceAccount is the service user's numeric identity.
type serviceAccount struct {
	uid, gid int
}

var errNoServiceUser = errors.New("no user " + serviceUserName)

// lookupServiceUser finds the service user: through the system's user
// database on the running system, in the image's /etc/passwd otherwise.
func lookupServiceUser(t systemTarget) (*serviceAccount, error) {
	if t.live() {
		u, err := user.Lookup(serviceUserName)
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, errNoServiceUser
		}
		if err != nil {
			return nil, fmt.Errorf("look up user %q: %w", serviceUserName, err)
		}
		uid, uerr := strconv.Atoi(u.Uid)
		gid, gerr := strconv.Atoi(u.Gid)
		if uerr != nil || gerr != nil {
			return nil, fmt.Errorf("look up user %q: non-numeric uid %q or gid %q", serviceUserName, u.Uid, u.Gid)
		}
		return &serviceAccount{uid: uid, gid: gid}, nil
	}
	return lookupPasswd(t.path("/etc/passwd"), serviceUserName)
}

// lookupPasswd finds name in a passwd(5) file.
func lookupPasswd(file, name string) (*serviceAccount, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoServiceUser
	}
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 4 || fields[0] != name {
			continue
		}
		uid, uerr := strconv.Atoi(fields[2])
		gid, gerr := strconv.Atoi(fields[3])
		if uerr != nil || gerr != nil {
			return nil, fmt.Errorf("look up user %q in %q: invalid uid or gid", name, file)
		}
		return &serviceAccount{uid: uid, gid: gid}, nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("look up user %q in %q: %w", name, file, err)
	}
	return nil, errNoServiceUser
}

// prepareSystemDir creates dir with perm for the service user, or takes
// over an existing one after checking it: it must be a real directory owned
// by root or the service user, below a parent that only root can write.
// Files directly inside it that root owns (written by the CLI run as root)
// are handed to the service user, which must be able to read them.
func prepareSystemDir(dir string, perm fs.FileMode, account *serviceAccount) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("create %q: %w", parent, err)
	}
	if err := checkRootOnlyWritable(parent); err != nil {
		return err
	}

	var st unix.Stat_t
	err := unix.Lstat(dir, &st)
	switch {
	case errors.Is(err, unix.ENOENT):
		if err := os.Mkdir(dir, perm); err != nil {
			return fmt.Errorf("create %q: %w", dir, err)
		}
	case err != nil:
		return fmt.Errorf("check %q: %w", dir, err)
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("%q exists and is not a directory (a symlink or file); move it away and run install again", dir)
	case st.Uid != 0 && int(st.Uid) != account.uid:
		return fmt.Errorf("%q is owned by uid %d, neither root nor %s (uid %d); check who created it, then move it away or chown it", dir, st.Uid, serviceUserName, account.uid)
	}

	if err := os.Lchown(dir, account.uid, account.gid); err != nil {
		return fmt.Errorf("chown %q: %w", dir, err)
	}
	if err := os.Chmod(dir, perm); err != nil {
		return fmt.Errorf("chmod %q: %w", dir, err)
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read %q: %w", dir, err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		var fst unix.Stat_t
		if err := unix.Lstat(p, &fst); err != nil || fst.Mode&unix.S_IFMT != unix.S_IFREG || fst.Uid != 0 {
			continue
		}
		if err := os.Lchown(p, account.uid, account.gid); err != nil {
			return fmt.Errorf("chown %q: %w", p, err)
		}
	}
	return nil
}

// checkRootOnlyWritable verifies that path is owned by root and that no
// one else can write it, except in a root-owned directory with the sticky
// bit (like /tmp), where others cannot replace root's entries.
func checkRootOnlyWritable(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fmt.Errorf("check %q: %w", path, err)
	}
	if st.Uid != 0 {
		return fmt.Errorf("%q is owned by uid %d, not root; a system service must not depend on files another user can change", path, st.Uid)
	}
	sticky := st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Mode&unix.S_ISVTX != 0
	if st.Mode&0o022 != 0 && !sticky {
		return fmt.Errorf("%q is writable by group or others (mode %#o); a system service must not depend on it", path, st.Mode&0o7777)
	}
	return nil
}

// systemExecutable returns the executable the system unit runs, checked so
// that only root can replace it: the file and every directory above it are
// root-owned and not writable by others. With --root the path is inside
// the image.
func systemExecutable(t systemTarget, binary string) (string, error) {
	var exe string
	if t.live() {
		var err error
		if exe, err = serviceExecutable(binary); err != nil {
			return "", err
		}
	} else {
		if binary == "" || !filepath.IsAbs(binary) {
			return "", usagef("install --system --root: pass --binary with the absolute path of keychain-auth inside the image")
		}
		exe = filepath.Clean(binary)
	}

	onDisk := t.path(exe)
	fi, err := os.Stat(onDisk)
	if err != nil {
		return "", fmt.Errorf("install: executable %q: %w", onDisk, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("install: %q is not an executable file", onDisk)
	}
	for p := onDisk; ; p = filepath.Dir(p) {
		if err := checkRootOnlyWritable(p); err != nil {
			return "", fmt.Errorf("install: %w; copy keychain-auth to a root-owned directory such as /usr/local/bin and pass --binary", err)
		}
		if p == "/" {
			break
		}
	}
	return exe, nil
}
