//go:build unix

package secretservice

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// keyringPassword unlocks the throwaway login keyring of a test.
const keyringPassword = "test-keyring-password"

// keyring is a private session bus with a gnome-keyring-daemon on it, both
// living in a temporary home so no test touches the user's real keyring.
type keyring struct {
	dir     string
	busPath string
	address string
	env     []string
	bus     *exec.Cmd
	daemon  *exec.Cmd
}

// requireBinaries skips the test when a program is missing, unless CI=true,
// where a missing program is a broken CI image and fails the test.
func requireBinaries(tb testing.TB, names ...string) {
	tb.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			msg := name + " is not installed; install the Debian packages dbus, gnome-keyring and libsecret-tools to run the Secret Service tests"
			if os.Getenv("CI") == "true" {
				tb.Fatal(msg)
			}
			tb.Skip(msg)
		}
	}
}

// startKeyring starts a bus and an unlocked keyring and stops both when the
// test ends.
func startKeyring(tb testing.TB) *keyring {
	tb.Helper()
	requireBinaries(tb, "dbus-daemon", "gnome-keyring-daemon")

	// Unix socket paths are limited to 108 bytes, which t.TempDir can exceed.
	dir, err := os.MkdirTemp("", "ss-test-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	k := &keyring{dir: dir, busPath: filepath.Join(dir, "bus")}
	k.address = "unix:path=" + k.busPath
	for _, sub := range []string{"home", "data", "config", "cache", "run"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	k.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(dir, "home"),
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
		"DBUS_SESSION_BUS_ADDRESS=" + k.address,
	}
	// The bus has no service directories, so nothing is started by D-Bus
	// activation behind the test's back.
	config := `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>` + k.address + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`
	if err := os.WriteFile(filepath.Join(dir, "bus.conf"), []byte(config), 0o600); err != nil {
		tb.Fatal(err)
	}
	k.start(tb)
	tb.Cleanup(k.stop)
	return k
}

// start runs the bus and the keyring daemon and waits until the default
// collection responds.
func (k *keyring) start(tb testing.TB) {
	tb.Helper()
	os.Remove(k.busPath)

	k.bus = exec.Command("dbus-daemon", "--config-file="+filepath.Join(k.dir, "bus.conf"), "--nofork", "--print-address")
	k.bus.Env = k.env
	stdout, err := k.bus.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := k.bus.Start(); err != nil {
		tb.Fatalf("start dbus-daemon: %v", err)
	}
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		tb.Fatalf("read dbus-daemon address: %v", err)
	}

	var stderr bytes.Buffer
	k.daemon = exec.Command("gnome-keyring-daemon", "--unlock", "--components=secrets", "--foreground")
	k.daemon.Env = k.env
	k.daemon.Stdin = strings.NewReader(keyringPassword)
	k.daemon.Stderr = &stderr
	if err := k.daemon.Start(); err != nil {
		tb.Fatalf("start gnome-keyring-daemon: %v", err)
	}

	// NOTE: this is a setup bound, not a test assertion. A keyring that has
	// not responded after a minute is broken, not slow.
	deadline := time.Now().Add(time.Minute)
	for {
		if err := k.ping(); err == nil {
			return
		} else if time.Now().After(deadline) {
			tb.Fatalf("gnome-keyring-daemon did not serve a default collection: %v; its stderr: %s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (k *keyring) ping() error {
	c, err := dbus.Connect(k.address)
	if err != nil {
		return err
	}
	defer c.Close()
	var path dbus.ObjectPath
	return c.Object(serviceName, servicePath).Call(serviceIface+".ReadAlias", 0, defaultAlias).Store(&path)
}

// stop kills the keyring daemon and the bus.
func (k *keyring) stop() {
	for _, cmd := range []*exec.Cmd{k.daemon, k.bus} {
		if cmd != nil && cmd.Process != nil {
			cmd.Process.Signal(syscall.SIGCONT)
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	k.daemon, k.bus = nil, nil
}

// signal sends sig to the bus or the keyring daemon.
func signal(tb testing.TB, cmd *exec.Cmd, sig syscall.Signal) {
	tb.Helper()
	if err := cmd.Process.Signal(sig); err != nil {
		tb.Fatalf("signal %v to %s: %v", sig, cmd.Path, err)
	}
}

// client connects to the bus directly, as any other process of the user can.
func (k *keyring) client(tb testing.TB) *dbus.Conn {
	tb.Helper()
	c, err := dbus.Connect(k.address)
	if err != nil {
		tb.Fatalf("connect to test bus: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// wipe deletes every item of the default collection.
func (k *keyring) wipe(tb testing.TB) {
	tb.Helper()
	c := k.client(tb)
	var unlocked, locked []dbus.ObjectPath
	if err := c.Object(serviceName, servicePath).Call(serviceIface+".SearchItems", 0, map[string]string{}).Store(&unlocked, &locked); err != nil {
		tb.Fatalf("search all items: %v", err)
	}
	for _, p := range append(unlocked, locked...) {
		var prompt dbus.ObjectPath
		if err := c.Object(serviceName, p).Call(itemIface+".Delete", 0).Store(&prompt); err != nil {
			tb.Fatalf("delete item %q: %v", p, err)
		}
	}
}

// items returns the paths of the items with the given attributes.
func (k *keyring) items(tb testing.TB, attrs map[string]string) []dbus.ObjectPath {
	tb.Helper()
	c := k.client(tb)
	var unlocked, locked []dbus.ObjectPath
	if err := c.Object(serviceName, servicePath).Call(serviceIface+".SearchItems", 0, attrs).Store(&unlocked, &locked); err != nil {
		tb.Fatalf("search items %v: %v", attrs, err)
	}
	return append(unlocked, locked...)
}

// secretTool runs secret-tool against the test keyring with stdin as input.
func (k *keyring) secretTool(tb testing.TB, stdin []byte, args ...string) []byte {
	tb.Helper()
	requireBinaries(tb, "secret-tool")
	cmd := exec.Command("secret-tool", args...)
	cmd.Env = k.env
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("secret-tool %s: %v; stderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// open opens a store and closes it when the test ends. A zero timeout
// becomes a minute: only tests about timeouts should depend on the speed of
// a shared machine.
func open(tb testing.TB, opts Options) *Store {
	tb.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = time.Minute
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		tb.Fatalf("Open(%q) = %v; want nil", opts.Address, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
