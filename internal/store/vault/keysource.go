package vault

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// KeySource provides the 256-bit vault key.
type KeySource interface {
	// Kind names the source for messages, such as "key file" or "passphrase".
	Kind() string

	// Protection is a one-line statement, for the status command, of what
	// this source protects against and what it does not.
	Protection() string

	// Key returns the vault key. For a new vault it also returns parameters
	// (such as a salt) that Open stores in the vault's metadata and passes
	// back in KeyRequest.Params whenever the vault is opened again.
	Key(req KeyRequest) (key, params []byte, err error)
}

// KeyRequest describes the vault that needs a key.
type KeyRequest struct {
	// Create is true when the vault is new, so the source may create its key
	// material. When it is false, missing key material is an error.
	Create bool
	// Params holds what Key returned as params when the vault was created;
	// it is nil when Create is true.
	Params []byte
}

// KeyFile returns a key source that reads a 32-byte key from path. When the
// vault is new and the file does not exist, it creates the file with mode
// 0600 and fills it with random bytes. A missing key file for an existing
// vault is an error, never a new key.
func KeyFile(path string) KeySource {
	return keyFile{path: path}
}

type keyFile struct {
	path string
}

func (k keyFile) Kind() string { return "key file" }

func (k keyFile) Protection() string {
	return "key file: protects a copy of the vault file taken without the key file, " +
		"not against other processes of the same user, which can read the key file"
}

func (k keyFile) Key(req KeyRequest) (key, params []byte, err error) {
	key, err = readKeyFile(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		if !req.Create {
			return nil, nil, fmt.Errorf("key file %q: %w; the vault already exists, so only its original key file opens it: restore that file from a backup", k.path, fs.ErrNotExist)
		}
		key, err = createKeyFile(k.path)
		if errors.Is(err, fs.ErrExist) {
			// Another process created the key file first: use that one.
			key, err = readKeyFile(k.path)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return key, nil, nil
}

// readKeyFile reads a key file, rejecting one that other users can access.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read key file %q: %w", path, err)
	}
	if !keyFileModeAllowed(runtime.GOOS, info.Mode()) {
		return nil, fmt.Errorf("read key file %q: mode %04o lets other users read it; run chmod 600 on it", path, info.Mode().Perm())
	}
	if info.Size() != keySize {
		return nil, fmt.Errorf("read key file %q: file has %d bytes; want %d", path, info.Size(), keySize)
	}

	key := make([]byte, keySize)
	if _, err := f.ReadAt(key, 0); err != nil {
		return nil, fmt.Errorf("read key file %q: %w", path, err)
	}
	return key, nil
}

// keyFileModeAllowed reports whether a key file's mode keeps it private to
// its owner. Windows file modes do not carry access rights, so there the
// check relies on the directory's access control list.
func keyFileModeAllowed(goos string, mode fs.FileMode) bool {
	if !mode.IsRegular() {
		return false
	}
	return goos == "windows" || mode.Perm()&0o077 == 0
}

// createKeyFile writes 32 random bytes to path with mode 0600. The key is
// written and synced under a temporary name and then linked into place, so
// a crash never leaves a short key file, and an existing file is never
// replaced.
func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, keySize)
	rand.Read(key)

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".new-*")
	if err != nil {
		return nil, fmt.Errorf("create key file %q: %w", path, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)

	// CreateTemp creates the file with mode 0600.
	_, err = tmp.Write(key)
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, fmt.Errorf("create key file %q: %w", path, err)
	}

	if err := linkNoReplace(tmpName, path); err != nil {
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("create key file %q: sync directory: %w", path, err)
	}
	return key, nil
}

// linkNoReplace gives the file at tmp the name dst, failing with an error
// that matches fs.ErrExist when dst exists. It falls back to a rename on
// file systems without hard links, where a check before the rename is the
// only guard against replacing dst.
func linkNoReplace(tmp, dst string) error {
	err := os.Link(tmp, dst)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}

	if _, statErr := os.Lstat(dst); statErr == nil {
		return fs.ErrExist
	}
	return os.Rename(tmp, dst)
}
