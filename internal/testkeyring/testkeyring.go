//go:build unix

// Package testkeyring starts a private D-Bus session bus with an unlocked
// gnome-keyring-daemon on it, in a temporary home, for tests of the Secret
// Service backend. Nothing it starts can reach the user's real keyring.
// Only tests import it.
package testkeyring

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Password unlocks the throwaway login keyring.
const Password = "test-keyring-password"

// Keyring is a running bus and keyring daemon.
type Keyring struct {
	Dir     string
	BusPath string
	// Address is the bus address for DBUS_SESSION_BUS_ADDRESS.
	Address string
	// Env is an environment for child processes that use this keyring.
	Env    []string
	Bus    *exec.Cmd
	Daemon *exec.Cmd
}

// RequireBinaries skips the test when a program is missing, unless CI=true,
// where a missing program is a broken CI image and fails the test.
func RequireBinaries(tb testing.TB, names ...string) {
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

// Start starts a bus and an unlocked keyring and stops both when the test
// ends.
func Start(tb testing.TB) *Keyring {
	tb.Helper()
	RequireBinaries(tb, "dbus-daemon", "gnome-keyring-daemon")

	// Unix socket paths are limited to 108 bytes, which t.TempDir can exceed.
	dir, err := os.MkdirTemp("", "ss-test-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	k := &Keyring{Dir: dir, BusPath: filepath.Join(dir, "bus")}
	k.Address = "unix:path=" + k.BusPath
	for _, sub := range []string{"home", "data", "config", "cache", "run"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	k.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(dir, "home"),
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
		"DBUS_SESSION_BUS_ADDRESS=" + k.Address,
	}
	// The bus has no service directories, so nothing is started by D-Bus
	// activation behind the test's back.
	config := `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>` + k.Address + `</listen>
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
	k.Start(tb)
	tb.Cleanup(k.Stop)
	return k
}

// Start runs the bus and the keyring daemon and waits until the default
// collection responds.
func (k *Keyring) Start(tb testing.TB) {
	tb.Helper()
	os.Remove(k.BusPath)

	k.Bus = exec.Command("dbus-daemon", "--config-file="+filepath.Join(k.Dir, "bus.conf"), "--nofork", "--print-address")
	k.Bus.Env = k.Env
	stdout, err := k.Bus.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := k.Bus.Start(); err != nil {
		tb.Fatalf("start dbus-daemon: %v", err)
	}
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		tb.Fatalf("read dbus-daemon address: %v", err)
	}

	var stderr bytes.Buffer
	k.Daemon = exec.Command("gnome-keyring-daemon", "--unlock", "--components=secrets", "--foreground")
	k.Daemon.Env = k.Env
	k.Daemon.Stdin = strings.NewReader(Password)
	k.Daemon.Stderr = &stderr
	if err := k.Daemon.Start(); err != nil {
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

func (k *Keyring) ping() error {
	c, err := dbus.Connect(k.Address)
	if err != nil {
		return err
	}
	defer c.Close()
	var path dbus.ObjectPath
	return c.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").
		Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&path)
}

// Stop kills the keyring daemon and the bus.
func (k *Keyring) Stop() {
	for _, cmd := range []*exec.Cmd{k.Daemon, k.Bus} {
		if cmd != nil && cmd.Process != nil {
			cmd.Process.Signal(syscall.SIGCONT)
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	k.Daemon, k.Bus = nil, nil
}

// SecretTool runs secret-tool against the keyring with stdin as input.
func (k *Keyring) SecretTool(tb testing.TB, stdin []byte, args ...string) []byte {
	tb.Helper()
	RequireBinaries(tb, "secret-tool")
	cmd := exec.Command("secret-tool", args...)
	cmd.Env = k.Env
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("secret-tool %s: %v; stderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}
