// Package atomicfile writes small state files so that readers see either
// the old or the new content, never a mix, and serializes writers across
// processes with an advisory lock on a sibling "<path>.lock" file.
//
// The lock is advisory: it only excludes writers that also call Lock.
// Readers do not need it because WriteFile replaces the file by rename.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DirPerm is the mode of directories created for state files.
const DirPerm = 0o700

// FileLock is an exclusive lock held on "<path>.lock".
type FileLock struct {
	f *os.File
}

// Lock blocks until it holds the exclusive lock for path, creating the lock
// file with mode 0600 and its directory with mode 0700 if they are missing.
// The lock file is never removed, so every process locks the same inode.
func Lock(path string) (*FileLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), DirPerm); err != nil {
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	return &FileLock{f: f}, nil
}

// Unlock releases the lock. Calling it more than once is a no-op.
func (l *FileLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	err := unlockFile(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("unlock %q: %w", f.Name(), err)
	}
	return nil
}

// WriteFile replaces path with data atomically: it writes a temporary file
// in the same directory, syncs it, renames it over path and syncs the
// directory, so after a crash path holds either the old or the new content.
// The file gets mode perm from its creation on; a missing directory is
// created with mode 0700.
func WriteFile(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, DirPerm); err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}

	// CreateTemp creates the file with mode 0600, so it is never readable
	// by others, even briefly.
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if perm != 0o600 {
		if err := tmp.Chmod(perm); err != nil {
			return fmt.Errorf("write %q: %w", path, err)
		}
	}
	// Root editing a file another user owns (an operator running the CLI
	// with sudo in system mode) must leave it owned by that user, or the
	// daemon running as that user can no longer read it.
	if err := keepOwner(tmp, path); err != nil {
		return fmt.Errorf("write %q: keep owner: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %q: sync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}

	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		// The new content is in place; only its durability across a crash
		// is in doubt, so report it without undoing the rename.
		return fmt.Errorf("write %q: sync directory: %w", path, err)
	}
	return nil
}

// ErrUnsupported reports a platform without file locking support.
var ErrUnsupported = errors.New("file locking is not supported on this platform")
