//go:build linux

package cli

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSystemdQuote(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain path", in: "/usr/local/bin/keychain-auth", want: "/usr/local/bin/keychain-auth"},
		{name: "space", in: "/opt/my tools/ka", want: `"/opt/my tools/ka"`},
		{name: "specifier", in: "/home/u/100%/ka", want: "/home/u/100%%/ka"},
		{name: "variable", in: "/home/$USER/ka", want: "/home/$$USER/ka"},
		{name: "quote and backslash", in: `/a"b\c`, want: `"/a\"b\\c"`},
		{name: "empty", in: "", want: `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := systemdQuote(tt.in); got != tt.want {
				t.Errorf("systemdQuote(%q) = %s; want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestUserServiceFilesLinux(t *testing.T) {
	p := serviceParams{Executable: "/usr/local/bin/keychain-auth", UnitDir: "/h/.config/systemd/user"}
	files, err := userServiceFiles("linux", p)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	want := []string{"/h/.config/systemd/user/keychain-auth.service", "/h/.config/systemd/user/keychain-auth.socket"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Fatalf("file paths (-want +got):\n%s", diff)
	}

	service, socket := files[0].Content, files[1].Content
	for _, line := range []string{
		"ExecStart=/usr/local/bin/keychain-auth start",
		"Requires=keychain-auth.socket",
		"Also=keychain-auth.socket",
		"WantedBy=default.target",
		"LimitCORE=0",
	} {
		if !containsLine(service, line) {
			t.Errorf("service unit lacks line %q:\n%s", line, service)
		}
	}
	for _, line := range []string{
		"ListenStream=%t/keychain-auth/agent.sock",
		"SocketMode=0600",
		"DirectoryMode=0700",
		"WantedBy=sockets.target",
	} {
		if !containsLine(socket, line) {
			t.Errorf("socket unit lacks line %q:\n%s", line, socket)
		}
	}
}

func TestUserServiceFilesSocketOverride(t *testing.T) {
	p := serviceParams{
		Executable: "/opt/ka",
		UnitDir:    "/u",
		GlobalArgs: []string{"--socket", "/srv/100%/agent.sock"},
		Socket:     "/srv/100%/agent.sock",
	}
	files, err := userServiceFiles("linux", p)
	if err != nil {
		t.Fatal(err)
	}
	if line := "ExecStart=/opt/ka --socket /srv/100%%/agent.sock start"; !containsLine(files[0].Content, line) {
		t.Errorf("service unit lacks %q:\n%s", line, files[0].Content)
	}
	if line := "ListenStream=/srv/100%%/agent.sock"; !containsLine(files[1].Content, line) {
		t.Errorf("socket unit lacks %q:\n%s", line, files[1].Content)
	}
}

func TestLaunchdPlist(t *testing.T) {
	p := serviceParams{
		Executable: "/Users/a&b/bin/keychain-auth",
		PlistDir:   "/Users/ab/Library/LaunchAgents",
		LogDir:     "/Users/ab/Library/Logs/keychain-auth",
	}
	files, err := userServiceFiles("darwin", p)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Path != "/Users/ab/Library/LaunchAgents/com.github.keychain-auth.agent.plist" {
		t.Fatalf("darwin files = %+v; want one plist in LaunchAgents", files)
	}

	// Decode the plist's dict into key/value pairs to check it is valid XML
	// with the program arguments escaped and intact.
	var doc struct {
		Dict struct {
			Items []struct {
				XMLName xml.Name
				Text    string   `xml:",chardata"`
				Strings []string `xml:"string"`
			} `xml:",any"`
		} `xml:"dict"`
	}
	if err := xml.Unmarshal([]byte(files[0].Content), &doc); err != nil {
		t.Fatalf("plist is not valid XML: %v\n%s", err, files[0].Content)
	}
	got := map[string]any{}
	items := doc.Dict.Items
	for i := 0; i+1 < len(items); i += 2 {
		key, val := items[i], items[i+1]
		if key.XMLName.Local != "key" {
			t.Fatalf("plist item %d is <%s>; want <key>", i, key.XMLName.Local)
		}
		switch val.XMLName.Local {
		case "array":
			got[key.Text] = val.Strings
		case "string", "integer":
			got[key.Text] = val.Text
		default:
			got[key.Text] = val.XMLName.Local
		}
	}
	want := map[string]any{
		"Label":              "com.github.keychain-auth.agent",
		"ProgramArguments":   []string{"/Users/a&b/bin/keychain-auth", "start"},
		"RunAtLoad":          "true",
		"KeepAlive":          "dict",
		"ProcessType":        "Background",
		"Umask":              "63",
		"SoftResourceLimits": "dict",
		"StandardErrorPath":  "/Users/ab/Library/Logs/keychain-auth/daemon.log",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plist keys (-want +got):\n%s", diff)
	}
}

func TestUserServiceFilesWindows(t *testing.T) {
	if _, err := userServiceFiles("windows", serviceParams{}); err == nil {
		t.Error("userServiceFiles(windows) = nil error; want an error naming the platform")
	}
}

func TestSystemUnitHardening(t *testing.T) {
	unit := systemSystemdUnit(serviceParams{Executable: "/usr/local/bin/keychain-auth"})
	for _, line := range []string{
		"ExecStart=/usr/local/bin/keychain-auth --system start",
		"User=keychain-auth",
		"RuntimeDirectory=keychain-auth",
		"RuntimeDirectoryMode=0755",
		"CapabilityBoundingSet=CAP_SYS_PTRACE",
		"AmbientCapabilities=CAP_SYS_PTRACE",
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
		"ProtectHome=read-only",
		"PrivateTmp=yes",
		"ReadWritePaths=/etc/keychain-auth /var/lib/keychain-auth /var/log/keychain-auth",
		"RestrictAddressFamilies=AF_UNIX",
		"SystemCallFilter=~@debug ptrace process_vm_readv process_vm_writev",
		"LimitCORE=0",
	} {
		if !containsLine(unit, line) {
			t.Errorf("system unit lacks line %q", line)
		}
	}
	if strings.Contains(unit, "CAP_DAC_READ_SEARCH\n") || strings.Contains(unit, "=CAP_DAC_READ_SEARCH") {
		t.Error("system unit grants CAP_DAC_READ_SEARCH; want CAP_SYS_PTRACE only")
	}
}

func containsLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// installEnv prepares an isolated user and stand-ins for systemctl.
func installEnv(t *testing.T) (env map[string]string, exe, unitDir, logFile string) {
	t.Helper()
	dir, env := isolate(t)
	binDir, logFile := fakeTools(t, "systemctl")
	env["PATH"] = binDir
	exe = fakeExecutable(t, filepath.Join(dir, "opt", "keychain-auth"))
	unitDir = filepath.Join(env["XDG_CONFIG_HOME"], "systemd", "user")
	return env, exe, unitDir, logFile
}

func TestInstallUserWritesAndEnables(t *testing.T) {
	env, exe, unitDir, logFile := installEnv(t)

	res := runCLI(t, env, nil, "install", "--binary", exe)
	if res.code != 0 {
		t.Fatalf("install exited %d; stderr: %s", res.code, res.stderr)
	}
	for _, name := range []string{"keychain-auth.service", "keychain-auth.socket"} {
		p := filepath.Join(unitDir, name)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("unit %s not written: %v", name, err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("mode of %s = %#o; want 0644", name, fi.Mode().Perm())
		}
		if !strings.Contains(res.stdout, "Wrote "+p) {
			t.Errorf("install output lacks %q:\n%s", "Wrote "+p, res.stdout)
		}
	}
	data, _ := os.ReadFile(filepath.Join(unitDir, "keychain-auth.service"))
	if !containsLine(string(data), "ExecStart="+exe+" start") {
		t.Errorf("service unit does not run %s:\n%s", exe, data)
	}
	if !strings.Contains(res.stdout, "systemctl --user status keychain-auth") {
		t.Errorf("install output does not say how to check the service:\n%s", res.stdout)
	}
	wantCalls := []string{
		"systemctl --user daemon-reload",
		"systemctl --user enable --now keychain-auth.socket keychain-auth.service",
	}
	if diff := cmp.Diff(wantCalls, readCalls(t, logFile)); diff != "" {
		t.Errorf("systemctl calls (-want +got):\n%s", diff)
	}

	// A second install changes nothing on disk.
	res = runCLI(t, env, nil, "install", "--binary", exe)
	if res.code != 0 {
		t.Fatalf("second install exited %d; stderr: %s", res.code, res.stderr)
	}
	if strings.Count(res.stdout, "Unchanged ") != 2 || strings.Contains(res.stdout, "Wrote ") {
		t.Errorf("second install output = %q; want both files unchanged", res.stdout)
	}
}

func TestInstallUserDryRunWritesNothing(t *testing.T) {
	env, exe, unitDir, logFile := installEnv(t)

	res := runCLI(t, env, nil, "install", "--dry-run", "--binary", exe)
	if res.code != 0 {
		t.Fatalf("install --dry-run exited %d; stderr: %s", res.code, res.stderr)
	}
	for _, want := range []string{
		"# " + filepath.Join(unitDir, "keychain-auth.service"),
		"ListenStream=%t/keychain-auth/agent.sock",
		"Would run: systemctl --user enable --now keychain-auth.socket keychain-auth.service",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, res.stdout)
		}
	}
	if _, err := os.Stat(unitDir); !os.IsNotExist(err) {
		t.Errorf("dry run created %s (stat error %v)", unitDir, err)
	}
	if calls := readCalls(t, logFile); len(calls) != 0 {
		t.Errorf("dry run ran %q", calls)
	}
}

func TestInstallUserReportsSystemctlFailure(t *testing.T) {
	env, exe, unitDir, _ := installEnv(t)
	if err := os.WriteFile(filepath.Join(env["PATH"], "systemctl.fail"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	res := runCLI(t, env, nil, "install", "--binary", exe)
	if res.code != 1 {
		t.Errorf("install with failing systemctl exited %d; want 1", res.code)
	}
	want := "systemctl --user daemon-reload failed: systemctl: simulated failure"
	if !strings.Contains(res.stderr, want) {
		t.Errorf("stderr = %q; want it to contain %q", res.stderr, want)
	}
	if _, err := os.Stat(filepath.Join(unitDir, "keychain-auth.service")); err != nil {
		t.Errorf("unit file missing after systemctl failed: %v", err)
	}
}

func TestInstallUserWithoutSystemctl(t *testing.T) {
	env, exe, _, _ := installEnv(t)
	env["PATH"] = t.TempDir()

	res := runCLI(t, env, nil, "install", "--binary", exe)
	if res.code != 0 {
		t.Fatalf("install without systemctl exited %d; stderr: %s", res.code, res.stderr)
	}
	if !strings.Contains(res.stdout, "systemctl not found; run yourself: systemctl --user daemon-reload") {
		t.Errorf("output does not tell the user what to run:\n%s", res.stdout)
	}
}

func TestInstallUserRejectsRelativeBinary(t *testing.T) {
	env, _, _, _ := installEnv(t)
	res := runCLI(t, env, nil, "install", "--binary", "bin/keychain-auth")
	if res.code != 2 {
		t.Errorf("install --binary relative exited %d; want 2 (stderr %q)", res.code, res.stderr)
	}
}

func TestUninstallUser(t *testing.T) {
	env, exe, unitDir, logFile := installEnv(t)
	if res := runCLI(t, env, nil, "install", "--binary", exe); res.code != 0 {
		t.Fatalf("install exited %d; stderr: %s", res.code, res.stderr)
	}
	os.Remove(logFile)

	res := runCLI(t, env, nil, "uninstall")
	if res.code != 0 {
		t.Fatalf("uninstall exited %d; stderr: %s", res.code, res.stderr)
	}
	for _, name := range []string{"keychain-auth.service", "keychain-auth.socket"} {
		if _, err := os.Stat(filepath.Join(unitDir, name)); !os.IsNotExist(err) {
			t.Errorf("%s still exists after uninstall (stat error %v)", name, err)
		}
	}
	wantCalls := []string{
		"systemctl --user disable --now keychain-auth.service keychain-auth.socket",
		"systemctl --user daemon-reload",
	}
	if diff := cmp.Diff(wantCalls, readCalls(t, logFile)); diff != "" {
		t.Errorf("systemctl calls (-want +got):\n%s", diff)
	}

	res = runCLI(t, env, nil, "uninstall")
	if res.code != 0 || !strings.Contains(res.stdout, "nothing to remove") {
		t.Errorf("second uninstall = exit %d, %q; want exit 0 and nothing to remove", res.code, res.stdout)
	}
}

// systemRoot prepares an image root with a root-owned keychain-auth and
// stand-ins for useradd and systemctl. The useradd stand-in appends the
// user to <root>/etc/passwd as the real one does with --root.
func systemRoot(t *testing.T) (root string, env map[string]string, logFile string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("preparing system directories needs root to chown them")
	}
	_, env = isolate(t)
	binDir, logFile := fakeTools(t, "systemctl")
	useradd := `#!/bin/sh
echo "useradd $*" >> '` + logFile + `'
root=""
while [ $# -gt 1 ]; do
  if [ "$1" = "--root" ]; then root="$2"; fi
  shift
done
mkdir -p "$root/etc"
echo "$1:x:4242:4243::/var/lib/keychain-auth:/usr/sbin/nologin" >> "$root/etc/passwd"
`
	if err := os.WriteFile(filepath.Join(binDir, "useradd"), []byte(useradd), 0o755); err != nil {
		t.Fatal(err)
	}
	env["PATH"] = binDir
	root = filepath.Join(t.TempDir(), "image")
	fakeExecutable(t, filepath.Join(root, "usr", "local", "bin", "keychain-auth"))
	return root, env, logFile
}

func TestInstallSystemInImage(t *testing.T) {
	root, env, logFile := systemRoot(t)
	args := []string{"install", "--system", "--root", root, "--binary", "/usr/local/bin/keychain-auth"}

	res := runCLI(t, env, nil, args...)
	if res.code != 0 {
		t.Fatalf("install --system exited %d; stderr: %s", res.code, res.stderr)
	}
	for _, d := range []string{"/etc/keychain-auth", "/var/lib/keychain-auth", "/var/log/keychain-auth"} {
		fi, err := os.Lstat(filepath.Join(root, d))
		if err != nil {
			t.Fatalf("%s not created: %v", d, err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if !fi.IsDir() || fi.Mode().Perm() != 0o700 || st.Uid != 4242 || st.Gid != 4243 {
			t.Errorf("%s: mode %v, owner %d:%d; want a 0700 directory owned by 4242:4243", d, fi.Mode(), st.Uid, st.Gid)
		}
	}
	unit, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/keychain-auth.service"))
	if err != nil {
		t.Fatalf("unit not written: %v", err)
	}
	if !containsLine(string(unit), "ExecStart=/usr/local/bin/keychain-auth --system start") {
		t.Errorf("unit does not run the image's binary:\n%s", unit)
	}
	wantCalls := []string{
		"useradd --system --user-group --no-create-home --home-dir /var/lib/keychain-auth --shell /usr/sbin/nologin --comment keychain-auth daemon --root " + root + " keychain-auth",
		"systemctl --root=" + root + " enable keychain-auth.service",
	}
	if diff := cmp.Diff(wantCalls, readCalls(t, logFile)); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}

	// Again: the user exists, so useradd does not run, and the unit is unchanged.
	os.Remove(logFile)
	res = runCLI(t, env, nil, args...)
	if res.code != 0 {
		t.Fatalf("second install --system exited %d; stderr: %s", res.code, res.stderr)
	}
	if !strings.Contains(res.stdout, "Unchanged ") {
		t.Errorf("second install output lacks Unchanged:\n%s", res.stdout)
	}
	if diff := cmp.Diff(wantCalls[1:], readCalls(t, logFile)); diff != "" {
		t.Errorf("commands of the second install (-want +got):\n%s", diff)
	}

	// Uninstall removes the unit and keeps the directories.
	res = runCLI(t, env, nil, "uninstall", "--system", "--root", root)
	if res.code != 0 {
		t.Fatalf("uninstall --system exited %d; stderr: %s", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/systemd/system/keychain-auth.service")); !os.IsNotExist(err) {
		t.Errorf("unit still exists after uninstall (stat error %v)", err)
	}
	if _, err := os.Stat(filepath.Join(root, "var/lib/keychain-auth")); err != nil {
		t.Errorf("uninstall removed the state directory: %v", err)
	}
}

func TestInstallSystemDryRun(t *testing.T) {
	root, env, logFile := systemRoot(t)
	res := runCLI(t, env, nil, "install", "--system", "--dry-run", "--root", root, "--binary", "/usr/local/bin/keychain-auth")
	if res.code != 0 {
		t.Fatalf("install --system --dry-run exited %d; stderr: %s", res.code, res.stderr)
	}
	for _, want := range []string{"CapabilityBoundingSet=CAP_SYS_PTRACE", "Would run: useradd --system", "Would create " + filepath.Join(root, "etc/keychain-auth")} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("dry-run output lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc")); !os.IsNotExist(err) {
		t.Errorf("dry run created %s/etc (stat error %v)", root, err)
	}
	if calls := readCalls(t, logFile); len(calls) != 0 {
		t.Errorf("dry run ran %q", calls)
	}
}

func TestInstallSystemRejectsOverrides(t *testing.T) {
	root, env, _ := systemRoot(t)
	res := runCLI(t, env, nil, "--config-dir", t.TempDir(), "install", "--system", "--root", root, "--binary", "/usr/local/bin/keychain-auth")
	if res.code != 2 {
		t.Errorf("install --system --config-dir exited %d; want 2 (stderr %q)", res.code, res.stderr)
	}
}

func TestPrepareSystemDirChecks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	account := &serviceAccount{uid: 4242, gid: 4243}

	t.Run("takes over root-owned files", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "etc", "keychain-auth")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(dir, "config.json")
		if err := os.WriteFile(cfg, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := prepareSystemDir(dir, 0o700, account); err != nil {
			t.Fatalf("prepareSystemDir = %v", err)
		}
		fi, _ := os.Stat(dir)
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("mode of %s = %#o; want 0700", dir, fi.Mode().Perm())
		}
		st, _ := os.Stat(cfg)
		if uid := st.Sys().(*syscall.Stat_t).Uid; uid != 4242 {
			t.Errorf("owner of config.json = %d; want 4242", uid)
		}
	})

	t.Run("directory of another user", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "keychain-auth")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, 1234, 1234); err != nil {
			t.Fatal(err)
		}
		err := prepareSystemDir(dir, 0o700, account)
		if err == nil || !strings.Contains(err.Error(), "owned by uid 1234") {
			t.Errorf("prepareSystemDir(dir of uid 1234) = %v; want an ownership error", err)
		}
	})

	t.Run("symlink", func(t *testing.T) {
		base := t.TempDir()
		dir := filepath.Join(base, "keychain-auth")
		if err := os.Symlink(t.TempDir(), dir); err != nil {
			t.Fatal(err)
		}
		err := prepareSystemDir(dir, 0o700, account)
		if err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("prepareSystemDir(symlink) = %v; want a not-a-directory error", err)
		}
	})

	t.Run("world-writable parent", func(t *testing.T) {
		parent := filepath.Join(t.TempDir(), "var")
		if err := os.Mkdir(parent, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(parent, 0o777); err != nil {
			t.Fatal(err)
		}
		err := prepareSystemDir(filepath.Join(parent, "keychain-auth"), 0o700, account)
		if err == nil || !strings.Contains(err.Error(), "writable by group or others") {
			t.Errorf("prepareSystemDir(under 0777 parent) = %v; want a parent permission error", err)
		}
	})
}

func TestSystemExecutableRejectsWritableDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the check expects root-owned files")
	}
	root := t.TempDir()
	exe := fakeExecutable(t, filepath.Join(root, "shared", "keychain-auth"))
	if err := os.Chmod(filepath.Dir(exe), 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := systemExecutable(systemTarget{root: root}, "/shared/keychain-auth")
	if err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Errorf("systemExecutable(in 0777 dir) = %v; want a permission error", err)
	}
}
