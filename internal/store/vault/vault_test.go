package vault_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	bolt "go.etcd.io/bbolt"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/storetest"
	"github.com/keychain-auth/keychain-auth/internal/store/vault"
)

// paths returns the vault and key file locations inside a fresh temporary
// directory that Open has to create.
func paths(t *testing.T) (vaultPath, keyPath string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	return filepath.Join(dir, "vault.db"), filepath.Join(dir, "vault.key")
}

func openVault(t *testing.T, path string, src vault.KeySource) *vault.Vault {
	t.Helper()
	v, err := vault.Open(path, src)
	if err != nil {
		t.Fatalf("Open(%q) = %v; want nil", path, err)
	}
	return v
}

func closeVault(t *testing.T, v *vault.Vault) {
	t.Helper()
	if err := v.Close(); err != nil {
		t.Fatalf("Close() = %v; want nil", err)
	}
}

// writePassphrase stores a passphrase in a file and returns its path.
func writePassphrase(t *testing.T, pass string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(path, []byte(pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		path, keyPath := paths(t)
		return openVault(t, path, vault.KeyFile(keyPath))
	}, storetest.Options{})
}

func TestReopenKeepsItems(t *testing.T) {
	ctx := context.Background()
	path, keyPath := paths(t)
	want := []store.Item{{Target: "t", Value: []byte("v"), Attributes: map[string]string{"env": "dev"}}}

	v := openVault(t, path, vault.KeyFile(keyPath))
	if err := v.Put(ctx, "svc", want); err != nil {
		t.Fatalf("Put = %v", err)
	}
	closeVault(t, v)

	v = openVault(t, path, vault.KeyFile(keyPath))
	defer closeVault(t, v)
	got, err := v.Get(ctx, "svc", []string{"t"})
	if err != nil {
		t.Fatalf("Get after reopen = %v", err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Get after reopen mismatch (-want +got):\n%s", d)
	}
}

func TestPassphraseRoundTrip(t *testing.T) {
	ctx := context.Background()
	path, _ := paths(t)
	passPath := writePassphrase(t, "correct horse battery staple")

	v := openVault(t, path, vault.Passphrase(vault.PassphraseFromFile(passPath)))
	if err := v.Put(ctx, "svc", []store.Item{{Target: "t", Value: []byte("v")}}); err != nil {
		t.Fatalf("Put = %v", err)
	}
	closeVault(t, v)

	t.Setenv(vault.PassphraseFileEnv, passPath)
	v = openVault(t, path, vault.Passphrase(vault.PassphraseFromEnvFile(vault.PassphraseFileEnv)))
	defer closeVault(t, v)
	got, err := v.Get(ctx, "svc", []string{"t"})
	if err != nil {
		t.Fatalf("Get after reopen = %v", err)
	}
	if len(got) != 1 || string(got[0].Value) != "v" {
		t.Errorf("Get after reopen returned %d items; want the one written", len(got))
	}
	if name, protection := v.Describe(); name != "vault" || !strings.Contains(protection, "passphrase") {
		t.Errorf("Describe() = %q, %q; want vault and a passphrase statement", name, protection)
	}
}

func TestDescribeKeyFile(t *testing.T) {
	path, keyPath := paths(t)
	v := openVault(t, path, vault.KeyFile(keyPath))
	defer closeVault(t, v)

	name, protection := v.Describe()
	if name != "vault" {
		t.Errorf("Describe() name = %q; want %q", name, "vault")
	}
	if !strings.Contains(protection, "not against other processes of the same user") {
		t.Errorf("Describe() protection = %q; want it to say what a key file does not protect", protection)
	}
}

// corruptFile applies edit to the bytes of the file at path.
func corruptFile(t *testing.T, path string, edit func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// editRaw opens a closed vault file with bbolt directly and runs fn in a
// write transaction, as an attacker or a disk error could.
func editRaw(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		// setup receives a vault created with a key file holding two items,
		// already closed, and returns the key source to reopen it with.
		setup    func(t *testing.T, path, keyPath string) vault.KeySource
		wantErr  error
		wantText string
	}{
		{
			name: "WrongKeyFile",
			setup: func(t *testing.T, path, keyPath string) vault.KeySource {
				otherPath, otherKey := paths(t)
				closeVault(t, openVault(t, otherPath, vault.KeyFile(otherKey)))
				return vault.KeyFile(otherKey)
			},
			wantErr:  vault.ErrWrongKey,
			wantText: "the key file does not match",
		},
		{
			name: "MissingKeyFile",
			setup: func(t *testing.T, path, keyPath string) vault.KeySource {
				if err := os.Remove(keyPath); err != nil {
					t.Fatal(err)
				}
				return vault.KeyFile(keyPath)
			},
			wantErr:  fs.ErrNotExist,
			wantText: "restore that file from a backup",
		},
		{
			name: "ShortKeyFile",
			setup: func(t *testing.T, path, keyPath string) vault.KeySource {
				corruptFile(t, keyPath, func(b []byte) []byte { return b[:16] })
				return vault.KeyFile(keyPath)
			},
			wantText: "file has 16 bytes; want 32",
		},
		{
			name: "PassphraseForKeyFileVault",
			setup: func(t *testing.T, path, keyPath string) vault.KeySource {
				return vault.Passphrase(vault.PassphraseFromFile(writePassphrase(t, "secret")))
			},
			wantText: "vault was created with a key file, not a passphrase",
		},
		{
			name: "EmptyFile",
			setup: func(t *testing.T, path, keyPath string) vault.KeySource {
				corruptFile(t, path, func([]byte) []byte { return nil })
				return vault.KeyFile(keyPath)
			},
			wantErr:  vault.ErrCorrupt,
			wantText: "file is empty",
		},
		{
			name: "TruncatedToHalf",
			setup: func(t *testing.T, path, keyPath string) vault.KeySource {
				corruptFile(t, path, func(b []byte) []byte { return b[:len(b)/2] })
				return vault.KeyFile(keyPath)
			},
			wantErr: vault.ErrCorrupt,
		},
		{
			name: "TruncatedToOnePage",
			setup: func(t *testing.T, path, keyPath string) vault.KeySource {
				corruptFile(t, path, func(b []byte) []byte { return b[:4096] })
				return vault.KeyFile(keyPath)
			},
			wantErr: vault.ErrCorrupt,
		},
		{
			name: "RandomBytes",
			setup: func(t *testing.T, path, keyPath string) vault.KeySource {
				corruptFile(t, path, func(b []byte) []byte {
					return bytes.Repeat([]byte{0x5a, 0xa5, 0x17}, len(b)/3)
				})
				return vault.KeyFile(keyPath)
			},
			wantErr: vault.ErrCorrupt,
		},
		{
			name: "FlippedRecordByte",
			setup: func(t *testing.T, path, keyPath string) vault.KeySource {
				editRaw(t, path, func(tx *bolt.Tx) error {
					b := tx.Bucket([]byte("services")).Bucket([]byte("svc"))
					record := bytes.Clone(b.Get([]byte("a")))
					record[len(record)-1] ^= 1
					return b.Put([]byte("a"), record)
				})
				return vault.KeyFile(keyPath)
			},
			wantErr:  vault.ErrCorrupt,
			wantText: `service "svc" target "a": record failed authentication`,
		},
		{
			name: "RecordMovedToAnotherTarget",
			setup: func(t *testing.T, path, keyPath string) vault.KeySource {
				editRaw(t, path, func(tx *bolt.Tx) error {
					b := tx.Bucket([]byte("services")).Bucket([]byte("svc"))
					return b.Put([]byte("b"), bytes.Clone(b.Get([]byte("a"))))
				})
				return vault.KeyFile(keyPath)
			},
			wantErr:  vault.ErrCorrupt,
			wantText: `service "svc" target "b": record failed authentication`,
		},
		{
			name: "RecordMovedToAnotherService",
			setup: func(t *testing.T, path, keyPath string) vault.KeySource {
				editRaw(t, path, func(tx *bolt.Tx) error {
					services := tx.Bucket([]byte("services"))
					record := bytes.Clone(services.Bucket([]byte("svc")).Get([]byte("a")))
					other, err := services.CreateBucket([]byte("other"))
					if err != nil {
						return err
					}
					return other.Put([]byte("a"), record)
				})
				return vault.KeyFile(keyPath)
			},
			wantErr:  vault.ErrCorrupt,
			wantText: `service "other" target "a": record failed authentication`,
		},
		{
			name: "MetadataRemoved",
			setup: func(t *testing.T, path, keyPath string) vault.KeySource {
				editRaw(t, path, func(tx *bolt.Tx) error {
					return tx.DeleteBucket([]byte("meta"))
				})
				return vault.KeyFile(keyPath)
			},
			wantErr:  vault.ErrCorrupt,
			wantText: "metadata is missing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, keyPath := paths(t)
			v := openVault(t, path, vault.KeyFile(keyPath))
			err := v.Put(context.Background(), "svc", []store.Item{
				{Target: "a", Value: []byte("value-a")},
				{Target: "b", Value: []byte("value-b")},
			})
			if err != nil {
				t.Fatalf("Put = %v", err)
			}
			closeVault(t, v)

			src := tt.setup(t, path, keyPath)
			v, err = vault.Open(path, src)
			if err == nil {
				v.Close()
				t.Fatalf("Open(%q) = nil error; want one", path)
			}
			t.Logf("Open error: %v", err)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Open(%q) = %v; want an error matching %v", path, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Open(%q) = %v; want text %q", path, err, tt.wantText)
			}
			if strings.Contains(err.Error(), "value-") {
				t.Errorf("Open(%q) = %v; the error contains a secret value", path, err)
			}
		})
	}
}

func TestWrongPassphrase(t *testing.T) {
	path, _ := paths(t)
	closeVault(t, openVault(t, path, vault.Passphrase(vault.PassphraseFromFile(writePassphrase(t, "right")))))

	_, err := vault.Open(path, vault.Passphrase(vault.PassphraseFromFile(writePassphrase(t, "wrong"))))
	if !errors.Is(err, vault.ErrWrongKey) {
		t.Fatalf("Open(wrong passphrase) = %v; want %v", err, vault.ErrWrongKey)
	}
	if want := "the passphrase does not match"; !strings.Contains(err.Error(), want) {
		t.Errorf("Open(wrong passphrase) = %v; want text %q", err, want)
	}
}

func TestMissingKeyFileIsNotRecreated(t *testing.T) {
	path, keyPath := paths(t)
	closeVault(t, openVault(t, path, vault.KeyFile(keyPath)))
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}

	if _, err := vault.Open(path, vault.KeyFile(keyPath)); err == nil {
		t.Fatal("Open(missing key file) = nil error; want one")
	}
	if _, err := os.Stat(keyPath); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(key file) after failed Open = %v; want it still missing", err)
	}
}

func TestKeyFileReadableByOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows file modes carry no access rights")
	}
	path, keyPath := paths(t)
	closeVault(t, openVault(t, path, vault.KeyFile(keyPath)))
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}

	_, err := vault.Open(path, vault.KeyFile(keyPath))
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("Open(key file 0644) = %v; want an error asking for chmod 600", err)
	}
}

func TestNewVaultUsesExistingKeyFile(t *testing.T) {
	ctx := context.Background()
	path, keyPath := paths(t)
	closeVault(t, openVault(t, path, vault.KeyFile(keyPath)))
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}

	// A second vault in another directory, given the same key file path.
	other := filepath.Join(t.TempDir(), "vault.db")
	v := openVault(t, other, vault.KeyFile(keyPath))
	if err := v.Put(ctx, "svc", []store.Item{{Target: "t", Value: []byte("v")}}); err != nil {
		t.Fatalf("Put = %v", err)
	}
	closeVault(t, v)

	after, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key, after) {
		t.Error("Open(new vault) replaced an existing key file")
	}
}

func TestSecondOpenReportsInUse(t *testing.T) {
	path, keyPath := paths(t)
	v := openVault(t, path, vault.KeyFile(keyPath))
	defer closeVault(t, v)

	// bbolt locks the file per open file description, so a second Open in
	// this process meets the same lock as another process would.
	_, err := vault.Open(path, vault.KeyFile(keyPath))
	if !errors.Is(err, vault.ErrInUse) {
		t.Fatalf("second Open = %v; want %v", err, vault.ErrInUse)
	}
	if want := "vault is in use by another process"; !strings.Contains(err.Error(), want) {
		t.Errorf("second Open = %v; want text %q", err, want)
	}
}

func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows file modes carry no access rights")
	}
	path, keyPath := paths(t)
	closeVault(t, openVault(t, path, vault.KeyFile(keyPath)))

	tests := []struct {
		name string
		path string
		want fs.FileMode
	}{
		{name: "Directory", path: filepath.Dir(path), want: fs.ModeDir | 0o700},
		{name: "VaultFile", path: path, want: 0o600},
		{name: "KeyFile", path: keyPath, want: 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Mode(); got != tt.want {
				t.Errorf("Stat(%q).Mode() = %v; want %v", tt.path, got, tt.want)
			}
		})
	}
}

func TestCreateLeavesNoTemporaryFiles(t *testing.T) {
	path, keyPath := paths(t)
	closeVault(t, openVault(t, path, vault.KeyFile(keyPath)))

	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if d := cmp.Diff([]string{"vault.db", "vault.key"}, names); d != "" {
		t.Errorf("directory entries mismatch (-want +got):\n%s", d)
	}
}

func TestCanaryNotInFile(t *testing.T) {
	ctx := context.Background()
	path, keyPath := paths(t)
	const (
		canaryValue = "CANARY-VALUE-7f3a9c1e"
		canaryAttr  = "CANARY-ATTRIBUTE-52b8d0"
		target      = "visible-target-name"
	)

	v := openVault(t, path, vault.KeyFile(keyPath))
	err := v.Put(ctx, "svc", []store.Item{{
		Target:     target,
		Value:      []byte(canaryValue),
		Attributes: map[string]string{"note": canaryAttr},
	}})
	if err != nil {
		t.Fatalf("Put = %v", err)
	}
	closeVault(t, v)

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{canaryValue, canaryAttr} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("vault file contains %q in clear", secret)
		}
	}
	// The package documentation says target names are stored in clear; this
	// keeps that statement true.
	if !bytes.Contains(data, []byte(target)) {
		t.Errorf("vault file does not contain target %q in clear; update the package documentation", target)
	}
}

func TestPutRejectsInvalidNames(t *testing.T) {
	ctx := context.Background()
	path, keyPath := paths(t)
	v := openVault(t, path, vault.KeyFile(keyPath))
	defer closeVault(t, v)

	tests := []struct {
		name     string
		service  string
		target   string
		wantText string
	}{
		{name: "EmptyService", service: "", target: "t", wantText: "service name is empty"},
		{name: "EmptyTarget", service: "svc", target: "", wantText: "target 1 of the batch is empty"},
		{name: "LongTarget", service: "svc", target: strings.Repeat("x", bolt.MaxKeySize+1), wantText: "the maximum is 32768"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := []store.Item{
				{Target: "valid", Value: []byte("v")},
				{Target: tt.target, Value: []byte("v")},
			}
			err := v.Put(ctx, tt.service, items)
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("Put = %v; want an error with %q", err, tt.wantText)
			}

			got, err := v.Get(ctx, tt.service, []string{"valid"})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Errorf("Get(valid) after a rejected batch returned %d items; want 0", len(got))
			}
		})
	}
}

func TestCanceledContext(t *testing.T) {
	path, keyPath := paths(t)
	v := openVault(t, path, vault.KeyFile(keyPath))
	defer closeVault(t, v)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	if err := v.Put(ctx, "svc", []store.Item{{Target: "t", Value: []byte("v")}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Put(canceled) = %v; want %v", err, context.Canceled)
	}
	got, err := v.Get(context.Background(), "svc", []string{"t"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("Get after a canceled Put returned %d items; want 0", len(got))
	}
}

func TestDeleteRemovesEmptyService(t *testing.T) {
	ctx := context.Background()
	path, keyPath := paths(t)
	v := openVault(t, path, vault.KeyFile(keyPath))
	if err := v.Put(ctx, "short-lived-service", []store.Item{{Target: "t", Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	if err := v.Delete(ctx, "short-lived-service", []string{"t"}); err != nil {
		t.Fatal(err)
	}
	closeVault(t, v)

	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("services")).Bucket([]byte("short-lived-service")) != nil {
			t.Error("service bucket still exists after its last target was deleted")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestListOverlappingPrefixes(t *testing.T) {
	ctx := context.Background()
	path, keyPath := paths(t)
	v := openVault(t, path, vault.KeyFile(keyPath))
	defer closeVault(t, v)
	var items []store.Item
	for _, target := range []string{"a", "ab", "abc", "b", "ba", "c"} {
		items = append(items, store.Item{Target: target, Value: []byte(target)})
	}
	if err := v.Put(ctx, "svc", items); err != nil {
		t.Fatal(err)
	}

	got, err := v.List(ctx, "svc", store.Query{Prefixes: []string{"ab", "b", "a", "ba"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Item{{Target: "a"}, {Target: "ab"}, {Target: "abc"}, {Target: "b"}, {Target: "ba"}}
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("List(ab, b, a, ba) mismatch (-want +got):\n%s", d)
	}
}

func TestPassphraseFromEnvFileUnset(t *testing.T) {
	t.Setenv(vault.PassphraseFileEnv, "")
	_, err := vault.PassphraseFromEnvFile(vault.PassphraseFileEnv)(false)
	if err == nil || !strings.Contains(err.Error(), vault.PassphraseFileEnv) {
		t.Errorf("PassphraseFromEnvFile(unset) = %v; want an error naming %s", err, vault.PassphraseFileEnv)
	}
}

func TestPassphraseFromFileTrimsOneNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(path, []byte("pass phrase \r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := vault.PassphraseFromFile(path)(false)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "pass phrase " {
		t.Errorf("PassphraseFromFile read %d bytes; want the 12 bytes before the line ending", len(got))
	}
}

func TestEmptyPassphraseRejected(t *testing.T) {
	path, _ := paths(t)
	_, err := vault.Open(path, vault.Passphrase(vault.PassphraseFromFile(writePassphrase(t, ""))))
	if err == nil || !strings.Contains(err.Error(), "passphrase is empty") {
		t.Errorf("Open(empty passphrase) = %v; want an error saying the passphrase is empty", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(vault) after a failed create = %v; want no vault file", err)
	}
}

func TestPassphraseFromTerminalRejectsFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "not-a-tty"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	_, err = vault.PassphraseFromTerminal(f, new(bytes.Buffer))(true)
	if err == nil || !strings.Contains(err.Error(), "is not a terminal") {
		t.Errorf("PassphraseFromTerminal(regular file) = %v; want a not-a-terminal error", err)
	}
}
