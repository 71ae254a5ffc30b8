package paths

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// envOf returns an Env over a fixed map, so no test reads the real
// environment.
func envOf(vars map[string]string) Env {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestResolveDefaults(t *testing.T) {
	tests := []struct {
		name string
		goos string
		env  map[string]string
		mode Mode
		want Layout
	}{
		{
			name: "linux with runtime dir",
			goos: "linux",
			env:  map[string]string{"HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/1000"},
			want: Layout{Mode: ModeUser, Socket: "/run/user/1000/keychain-auth/agent.sock", ConfigDir: "/home/u/.config/keychain-auth", DataDir: "/home/u/.local/share/keychain-auth", AuditDir: "/home/u/.local/share/keychain-auth"},
		},
		{
			name: "linux without runtime dir",
			goos: "linux",
			env:  map[string]string{"HOME": "/home/u"},
			want: Layout{Mode: ModeUser, Socket: "/home/u/.cache/keychain-auth/agent.sock", ConfigDir: "/home/u/.config/keychain-auth", DataDir: "/home/u/.local/share/keychain-auth", AuditDir: "/home/u/.local/share/keychain-auth"},
		},
		{
			name: "linux empty runtime dir and XDG overrides",
			goos: "linux",
			env:  map[string]string{"HOME": "/home/u", "XDG_RUNTIME_DIR": "", "XDG_CONFIG_HOME": "/cfg", "XDG_DATA_HOME": "/data"},
			want: Layout{Mode: ModeUser, Socket: "/home/u/.cache/keychain-auth/agent.sock", ConfigDir: "/cfg/keychain-auth", DataDir: "/data/keychain-auth", AuditDir: "/data/keychain-auth"},
		},
		{
			name: "linux relative XDG value is ignored",
			goos: "linux",
			env:  map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "relative"},
			want: Layout{Mode: ModeUser, Socket: "/home/u/.cache/keychain-auth/agent.sock", ConfigDir: "/home/u/.config/keychain-auth", DataDir: "/home/u/.local/share/keychain-auth", AuditDir: "/home/u/.local/share/keychain-auth"},
		},
		{
			name: "linux system mode",
			goos: "linux",
			mode: ModeSystem,
			want: Layout{Mode: ModeSystem, Socket: "/run/keychain-auth/agent.sock", ConfigDir: "/etc/keychain-auth", DataDir: "/var/lib/keychain-auth", AuditDir: "/var/log/keychain-auth"},
		},
		{
			name: "macOS",
			goos: "darwin",
			env:  map[string]string{"HOME": "/Users/u", "XDG_RUNTIME_DIR": "/ignored"},
			want: Layout{Mode: ModeUser, Socket: "/Users/u/Library/Application Support/keychain-auth/agent.sock", ConfigDir: "/Users/u/Library/Application Support/keychain-auth", DataDir: "/Users/u/Library/Application Support/keychain-auth", AuditDir: "/Users/u/Library/Logs/keychain-auth"},
		},
		{
			name: "windows",
			goos: "windows",
			env:  map[string]string{"APPDATA": `C:\Users\u\AppData\Roaming`, "LOCALAPPDATA": `C:\Users\u\AppData\Local`},
			want: Layout{Mode: ModeUser, Socket: `\\.\pipe\keychain-auth`, ConfigDir: `C:\Users\u\AppData\Roaming\keychain-auth`, DataDir: `C:\Users\u\AppData\Local\keychain-auth`, AuditDir: `C:\Users\u\AppData\Local\keychain-auth`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.goos, envOf(tt.env), Options{Mode: tt.mode})
			if err != nil {
				t.Fatalf("Resolve(%s) = %v", tt.goos, err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Resolve(%s) mismatch (-want +got):\n%s", tt.goos, d)
			}
		})
	}
}

func TestResolveOverrideOrder(t *testing.T) {
	env := map[string]string{"HOME": "/Users/u", EnvSocket: "/env.sock", EnvConfigDir: "/env-config", EnvDataDir: "/env-data"}
	tests := []struct {
		name string
		opts Options
		want Layout
	}{
		{
			name: "environment",
			want: Layout{Mode: ModeUser, Socket: "/env.sock", ConfigDir: "/env-config", DataDir: "/env-data", AuditDir: "/env-data"},
		},
		{
			name: "flags beat environment",
			opts: Options{Socket: "/flag.sock", ConfigDir: "/flag-config", DataDir: "/flag-data"},
			want: Layout{Mode: ModeUser, Socket: "/flag.sock", ConfigDir: "/flag-config", DataDir: "/flag-data", AuditDir: "/flag-data"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve("darwin", envOf(env), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Resolve(darwin, %+v) mismatch (-want +got):\n%s", tt.opts, d)
			}
		})
	}
}

func TestResolveConfigDirMovesData(t *testing.T) {
	got, err := Resolve("windows", envOf(map[string]string{"APPDATA": `C:\a`, "LOCALAPPDATA": `C:\l`}), Options{ConfigDir: `D:\ka`})
	if err != nil {
		t.Fatal(err)
	}
	want := Layout{Mode: ModeUser, Socket: WindowsPipe, ConfigDir: `D:\ka`, DataDir: `D:\ka\data`, AuditDir: `D:\ka\data`}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Resolve(windows, --config-dir) mismatch (-want +got):\n%s", d)
	}
	if f := got.ConfigFile(); f != `D:\ka\config.json` {
		t.Errorf("ConfigFile() = %q; want %q", f, `D:\ka\config.json`)
	}
	if f := got.AuditFile(); f != `D:\ka\data\audit.log` {
		t.Errorf("AuditFile() = %q; want %q", f, `D:\ka\data\audit.log`)
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name string
		goos string
		env  map[string]string
		mode Mode
		want error
	}{
		{name: "linux without HOME or runtime dir", goos: "linux", want: ErrNoHome},
		{name: "macOS without HOME", goos: "darwin", env: map[string]string{"XDG_RUNTIME_DIR": "/run/user/1"}, want: ErrNoHome},
		{name: "windows without APPDATA", goos: "windows", env: map[string]string{"LOCALAPPDATA": `C:\l`}, want: ErrNoHome},
		{name: "windows without LOCALAPPDATA", goos: "windows", env: map[string]string{"APPDATA": `C:\a`}, want: ErrNoHome},
		{name: "system mode on macOS", goos: "darwin", env: map[string]string{"HOME": "/Users/u"}, mode: ModeSystem},
		{name: "system mode on windows", goos: "windows", env: map[string]string{"APPDATA": `C:\a`, "LOCALAPPDATA": `C:\l`}, mode: ModeSystem},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(tt.goos, envOf(tt.env), Options{Mode: tt.mode})
			if err == nil {
				t.Fatalf("Resolve(%s) = nil error; want an error", tt.goos)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Resolve(%s) = %v; want errors.Is %v", tt.goos, err, tt.want)
			}
		})
	}
}

func TestClientSocket(t *testing.T) {
	exists := func(p string) bool { return p == SystemSocket }
	tests := []struct {
		name     string
		goos     string
		env      map[string]string
		explicit string
		exists   func(string) bool
		want     string
	}{
		{name: "explicit wins", goos: "linux", env: map[string]string{EnvSocket: "/env.sock"}, explicit: "/flag.sock", exists: exists, want: "/flag.sock"},
		{name: "environment before system socket", goos: "linux", env: map[string]string{EnvSocket: "/env.sock"}, exists: exists, want: "/env.sock"},
		{name: "linux system socket when present", goos: "linux", env: map[string]string{"XDG_RUNTIME_DIR": "/run/user/1"}, exists: exists, want: SystemSocket},
		{name: "linux user socket otherwise", goos: "linux", env: map[string]string{"HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/1"}, want: "/run/user/1/keychain-auth/agent.sock"},
		{name: "linux runtime dir without home", goos: "linux", env: map[string]string{"XDG_RUNTIME_DIR": "/run/user/1"}, want: "/run/user/1/keychain-auth/agent.sock"},
		{name: "linux cache fallback", goos: "linux", env: map[string]string{"HOME": "/home/u", "XDG_RUNTIME_DIR": ""}, want: "/home/u/.cache/keychain-auth/agent.sock"},
		{name: "macOS ignores system socket", goos: "darwin", env: map[string]string{"HOME": "/Users/u"}, exists: exists, want: "/Users/u/Library/Application Support/keychain-auth/agent.sock"},
		{name: "windows pipe", goos: "windows", env: map[string]string{"APPDATA": `C:\a`, "LOCALAPPDATA": `C:\l`}, exists: exists, want: `\\.\pipe\keychain-auth`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ClientSocket(tt.goos, envOf(tt.env), tt.explicit, tt.exists)
			if err != nil {
				t.Fatalf("ClientSocket(%s) = %v", tt.goos, err)
			}
			if got != tt.want {
				t.Errorf("ClientSocket(%s) = %q; want %q", tt.goos, got, tt.want)
			}
		})
	}
}
