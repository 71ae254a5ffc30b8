package signature

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// writeTestFile creates a file with the given content and mode in a new
// temporary directory and returns its path.
func writeTestFile(t *testing.T, content []byte, mode fs.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(path, content, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSignMatchesStdlib(t *testing.T) {
	rng := newRand(t)
	pub, priv := newTestKey(t, 20)

	// io.Copy moves 32 KiB at a time, so lengths around it cross a buffer.
	lengths := []int{0, 1, 63, 64, 65, 32<<10 - 1, 32 << 10, 32<<10 + 1, chunkSize + 7}
	for range 10 {
		lengths = append(lengths, rng.IntN(200_000))
	}
	for _, n := range lengths {
		t.Run(fmt.Sprintf("%d bytes", n), func(t *testing.T) {
			message := randomBytes(rng, n)
			path := writeTestFile(t, message, 0o644)

			if err := Sign(priv, path); err != nil {
				t.Fatalf("Sign() error = %v", err)
			}
			got := readFile(t, path)
			want := signedFile(message, ed25519.Sign(priv, message))
			if !bytes.Equal(got, want) {
				t.Errorf("Sign() wrote %d bytes ending in %x; want %d bytes ending in %x",
					len(got), got[max(0, len(got)-TrailerSize):], len(want), want[len(want)-TrailerSize:])
			}
			if err := VerifyFile(pub, path); err != nil {
				t.Errorf("VerifyFile() error = %v", err)
			}
		})
	}
}

func TestSignReplacesTrailer(t *testing.T) {
	firstPub, first := newTestKey(t, 21)
	secondPub, second := newTestKey(t, 22)
	message := []byte("a program that is signed twice")
	path := writeTestFile(t, message, 0o755)

	if err := Sign(first, path); err != nil {
		t.Fatalf("Sign(first key) error = %v", err)
	}
	if err := Sign(second, path); err != nil {
		t.Fatalf("Sign(second key) error = %v", err)
	}

	want := signedFile(message, ed25519.Sign(second, message))
	if got := readFile(t, path); !bytes.Equal(got, want) {
		t.Errorf("file after two signatures is %d bytes; want %d (one trailer)", len(got), len(want))
	}
	if err := VerifyFile(secondPub, path); err != nil {
		t.Errorf("VerifyFile(second key) error = %v", err)
	}
	if err := VerifyFile(firstPub, path); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("VerifyFile(first key) error = %v; want %v", err, ErrInvalidSignature)
	}

	// Signing again with the same key is deterministic and does not stack.
	if err := Sign(second, path); err != nil {
		t.Fatalf("Sign(second key again) error = %v", err)
	}
	if got := readFile(t, path); !bytes.Equal(got, want) {
		t.Errorf("file after re-signing is %d bytes; want %d", len(got), len(want))
	}
}

// TestSignStripsLookalikeTrailer pins the documented ambiguity: content
// that ends in the magic is taken for a trailer.
func TestSignStripsLookalikeTrailer(t *testing.T) {
	_, priv := newTestKey(t, 23)
	content := append(bytes.Repeat([]byte{'x'}, 100), Magic...)
	path := writeTestFile(t, content, 0o644)

	if err := Sign(priv, path); err != nil {
		t.Fatalf("Sign() error = %v", err)
	}
	message := content[:len(content)-TrailerSize]
	if got, want := readFile(t, path), signedFile(message, ed25519.Sign(priv, message)); !bytes.Equal(got, want) {
		t.Errorf("Sign() of a file ending in %q wrote %d bytes; want %d", Magic, len(got), len(want))
	}
}

func TestSignRelativePath(t *testing.T) {
	pub, priv := newTestKey(t, 30)
	path := writeTestFile(t, []byte("binary"), 0o755)
	t.Chdir(filepath.Dir(path))

	if err := Sign(priv, "tool"); err != nil {
		t.Fatalf("Sign(%q) error = %v", "tool", err)
	}
	if err := VerifyFile(pub, path); err != nil {
		t.Errorf("VerifyFile() error = %v", err)
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory after Sign() has %d entries; want 1", len(entries))
	}
}

func TestSignKeepsMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permission bits")
	}
	_, priv := newTestKey(t, 24)

	for _, mode := range []fs.FileMode{0o755, 0o700, 0o640, 0o444} {
		t.Run(mode.String(), func(t *testing.T) {
			path := writeTestFile(t, []byte("binary"), mode)
			if err := Sign(priv, path); err != nil {
				t.Fatalf("Sign() error = %v", err)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Mode().Perm(); got != mode {
				t.Errorf("mode after Sign() = %v; want %v", got, mode)
			}
		})
	}
}

func TestSignFollowsSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need extra privileges on Windows")
	}
	pub, priv := newTestKey(t, 25)
	target := writeTestFile(t, []byte("real binary"), 0o755)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}

	if err := Sign(priv, link); err != nil {
		t.Fatalf("Sign(link) error = %v", err)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Sign(link) replaced the symbolic link itself (mode %v, error %v)", info.Mode(), err)
	}
	if err := VerifyFile(pub, target); err != nil {
		t.Errorf("VerifyFile(target) error = %v", err)
	}
}

func TestSignLeavesNoTemporaryFiles(t *testing.T) {
	_, priv := newTestKey(t, 26)
	path := writeTestFile(t, []byte("binary"), 0o755)

	if err := Sign(priv, path); err != nil {
		t.Fatalf("Sign() error = %v", err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "tool" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory after Sign() contains %q; want only \"tool\"", names)
	}
}

func TestSignErrors(t *testing.T) {
	_, priv := newTestKey(t, 27)
	otherPub, _ := newTestKey(t, 28)
	mismatched := append(bytes.Clone(priv.Seed()), otherPub...)
	path := writeTestFile(t, []byte("binary"), 0o755)

	tests := []struct {
		name string
		priv ed25519.PrivateKey
		path string
	}{
		{name: "missing file", priv: priv, path: filepath.Join(t.TempDir(), "missing")},
		{name: "directory", priv: priv, path: t.TempDir()},
		{name: "short private key", priv: priv[:32], path: path},
		{name: "mismatched private key", priv: mismatched, path: path},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Sign(tt.priv, tt.path); err == nil {
				t.Errorf("Sign() error = nil; want error")
			}
		})
	}
	if got := readFile(t, path); !bytes.Equal(got, []byte("binary")) {
		t.Errorf("failed Sign() changed the file to %q", got)
	}
}

func TestVerifyFile(t *testing.T) {
	pub, priv := newTestKey(t, 29)
	message := []byte("signed program")
	signed := signedFile(message, ed25519.Sign(priv, message))
	tampered := bytes.Clone(signed)
	tampered[0] ^= 1

	tests := []struct {
		name    string
		content []byte
		wantErr error
	}{
		{name: "valid", content: signed},
		{name: "unsigned", content: message, wantErr: ErrNoTrailer},
		{name: "tampered", content: tampered, wantErr: ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyFile(pub, writeTestFile(t, tt.content, 0o644))
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("VerifyFile() error = %v; want %v", err, tt.wantErr)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		err := VerifyFile(pub, filepath.Join(t.TempDir(), "missing"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("VerifyFile(missing) error = %v; want one wrapping fs.ErrNotExist", err)
		}
	})
}
