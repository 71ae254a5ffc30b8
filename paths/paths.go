// Package paths resolves where keychain-auth keeps its socket, policy files,
// vault and audit log on each platform.
//
// Every function takes the GOOS and an environment lookup as arguments so the
// rules for all platforms are plain functions tested on any machine. It
// imports only the standard library because the public client uses it too.
package paths

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
)

// Mode is the daemon's mode. It is chosen explicitly, never inferred from
// which directories exist.
type Mode string

// Modes.
const (
	ModeUser   Mode = "user"
	ModeSystem Mode = "system"
)

// Environment variables that override defaults.
const (
	EnvSocket    = "KEYCHAIN_AUTH_SOCKET"
	EnvConfigDir = "KEYCHAIN_AUTH_CONFIG_DIR"
	EnvDataDir   = "KEYCHAIN_AUTH_DATA_DIR"
)

// WindowsPipe is the default named pipe on Windows.
const WindowsPipe = `\\.\pipe\keychain-auth`

// SystemSocket is the Linux system-mode socket. A client with no override
// prefers it when it exists.
const SystemSocket = "/run/keychain-auth/agent.sock"

// Env looks up an environment variable; os.LookupEnv fits.
type Env func(key string) (string, bool)

// Layout holds the resolved locations.
type Layout struct {
	Mode      Mode
	Socket    string
	ConfigDir string
	DataDir   string
	AuditDir  string
}

// ConfigFile returns the path of config.json.
func (l Layout) ConfigFile() string { return join(l.ConfigDir, "config.json") }

// PendingFile returns the path of pending.json.
func (l Layout) PendingFile() string { return join(l.ConfigDir, "pending.json") }

// AuditFile returns the path of the current audit log.
func (l Layout) AuditFile() string { return join(l.AuditDir, "audit.log") }

// join uses the separator of the layout's own paths, so Windows layouts
// resolved on Linux in tests keep backslashes.
func join(dir, name string) string {
	if len(dir) > 0 && (dir[0] == '\\' || (len(dir) > 2 && dir[1] == ':')) {
		return dir + `\` + name
	}
	return path.Join(dir, name)
}

// ErrNoHome reports that a needed home directory variable is unset.
var ErrNoHome = errors.New("cannot resolve home directory")

// Options are the explicit overrides, highest priority first within each field.
type Options struct {
	Mode Mode
	// Socket is the --socket flag value, if given.
	Socket string
	// ConfigDir is the --config-dir flag value, if given. It also moves the
	// data and audit directories below it unless DataDir is given.
	ConfigDir string
	// DataDir is the --data-dir flag value, if given.
	DataDir string
}

// Resolve returns the layout for goos given the environment and overrides.
// Override order for the socket: Options.Socket, then KEYCHAIN_AUTH_SOCKET,
// then the platform default. The same holds for the directories with
// KEYCHAIN_AUTH_CONFIG_DIR and KEYCHAIN_AUTH_DATA_DIR.
func Resolve(goos string, env Env, opts Options) (Layout, error) {
	get := func(k string) string {
		v, _ := env(k)
		return v
	}
	mode := opts.Mode
	if mode == "" {
		mode = ModeUser
	}
	if mode == ModeSystem && goos != "linux" {
		return Layout{}, fmt.Errorf("system mode is only supported on Linux, not %s", goos)
	}

	l, err := defaults(goos, mode, get)
	if err != nil {
		return Layout{}, err
	}

	configDir := first(opts.ConfigDir, get(EnvConfigDir))
	if configDir != "" {
		l.ConfigDir = configDir
		l.DataDir = join(configDir, "data")
		l.AuditDir = l.DataDir
	}
	if dataDir := first(opts.DataDir, get(EnvDataDir)); dataDir != "" {
		l.DataDir = dataDir
		l.AuditDir = dataDir
	}
	if s := first(opts.Socket, get(EnvSocket)); s != "" {
		l.Socket = s
	}
	return l, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func defaults(goos string, mode Mode, get func(string) string) (Layout, error) {
	l := Layout{Mode: mode}
	if mode == ModeSystem {
		l.Socket = SystemSocket
		l.ConfigDir = "/etc/keychain-auth"
		l.DataDir = "/var/lib/keychain-auth"
		l.AuditDir = "/var/log/keychain-auth"
		return l, nil
	}

	switch goos {
	case "windows":
		appData, localAppData := get("APPDATA"), get("LOCALAPPDATA")
		if appData == "" || localAppData == "" {
			return l, fmt.Errorf("%w: APPDATA or LOCALAPPDATA is not set", ErrNoHome)
		}
		l.Socket = WindowsPipe
		l.ConfigDir = appData + `\keychain-auth`
		l.DataDir = localAppData + `\keychain-auth`
		l.AuditDir = l.DataDir
		return l, nil

	case "darwin":
		home := get("HOME")
		if home == "" {
			return l, fmt.Errorf("%w: HOME is not set", ErrNoHome)
		}
		support := path.Join(home, "Library", "Application Support", "keychain-auth")
		l.Socket = path.Join(support, "agent.sock")
		l.ConfigDir = support
		l.DataDir = support
		l.AuditDir = path.Join(home, "Library", "Logs", "keychain-auth")
		return l, nil
	}

	// Linux and other Unix systems follow the XDG base directory rules.
	home := get("HOME")
	xdg := func(key, fallback string) (string, error) {
		if v := get(key); v != "" && path.IsAbs(v) {
			return path.Join(v, "keychain-auth"), nil
		}
		if home == "" {
			return "", fmt.Errorf("%w: HOME is not set and %s is unset", ErrNoHome, key)
		}
		return path.Join(home, fallback, "keychain-auth"), nil
	}
	var err error
	if runtimeDir := get("XDG_RUNTIME_DIR"); runtimeDir != "" {
		l.Socket = path.Join(runtimeDir, "keychain-auth", "agent.sock")
	} else {
		if home == "" {
			return l, fmt.Errorf("%w: HOME and XDG_RUNTIME_DIR are unset", ErrNoHome)
		}
		l.Socket = path.Join(home, ".cache", "keychain-auth", "agent.sock")
	}
	if l.ConfigDir, err = xdg("XDG_CONFIG_HOME", ".config"); err != nil {
		return l, err
	}
	if l.DataDir, err = xdg("XDG_DATA_HOME", path.Join(".local", "share")); err != nil {
		return l, err
	}
	l.AuditDir = l.DataDir
	return l, nil
}

// Current resolves the layout for this process's platform and environment.
func Current(opts Options) (Layout, error) {
	l, err := Resolve(runtime.GOOS, os.LookupEnv, opts)
	if err != nil {
		return l, err
	}
	if runtime.GOOS != "windows" {
		for _, p := range []*string{&l.Socket, &l.ConfigDir, &l.DataDir, &l.AuditDir} {
			if abs, err := filepath.Abs(*p); err == nil {
				*p = abs
			}
		}
	}
	return l, nil
}

// ClientSocket returns the endpoint a client dials: explicit, then
// KEYCHAIN_AUTH_SOCKET, then on Linux the system socket when it exists, then
// the user default.
func ClientSocket(goos string, env Env, explicit string, exists func(string) bool) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if v, _ := env(EnvSocket); v != "" {
		return v, nil
	}
	if goos == "linux" && exists != nil && exists(SystemSocket) {
		return SystemSocket, nil
	}
	get := func(k string) string { v, _ := env(k); return v }
	// On Linux only the socket is needed, which XDG_RUNTIME_DIR gives
	// even where HOME is unset (as in some service managers).
	if goos != "windows" && goos != "darwin" {
		if runtimeDir := get("XDG_RUNTIME_DIR"); runtimeDir != "" {
			return path.Join(runtimeDir, "keychain-auth", "agent.sock"), nil
		}
	}
	l, err := defaults(goos, ModeUser, get)
	if err != nil {
		return "", err
	}
	return l.Socket, nil
}
