// Package identity turns a peer process into the identity the policy is
// written against: the canonical path of the executable it runs and the
// SHA-256 of that executable's bytes.
//
// On Linux the bytes hashed are those of the file the process is actually
// running, opened through /proc/<pid>/exe, so replacing the file at the path
// after the process started cannot change the answer. Hashes are cached by
// file identity (device, inode, size, modification and change times); any
// write to the file changes at least the change time, so a modified file is
// always re-hashed.
package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/keychain-auth/keychain-auth/internal/peercred"
)

// ErrNotSupported is returned on platforms without an implementation.
var ErrNotSupported = errors.New("process identity is not supported on this platform")

// ErrTooLarge reports an executable above the configured size limit.
var ErrTooLarge = errors.New("executable exceeds the size limit")

// DefaultMaxSize is the largest executable hashed by default: 1 GiB.
const DefaultMaxSize = 1 << 30

// HashPrefix starts every hash written by keychain-auth.
const HashPrefix = "sha256:"

// Identity is what the daemon knows about a caller. It is fixed for the
// life of a connection.
type Identity struct {
	PID int
	UID uint32
	// Path is the canonical path of the executable. On Linux a file deleted
	// or replaced since the process started keeps the kernel's " (deleted)"
	// suffix, which matches no registered path.
	Path string
	// Hash is "sha256:" followed by 64 lowercase hex digits.
	Hash string
	Size int64
	// Trailer is the KCAS signature trailer at the end of the file, when present.
	Trailer *Trailer
}

// FileKey identifies one version of a file for the hash cache.
type FileKey struct {
	Dev, Ino  uint64
	Size      int64
	MtimeSec  int64
	MtimeNsec int64
	CtimeSec  int64
	CtimeNsec int64
}

// Options configure a Resolver.
type Options struct {
	// MaxSize is the largest executable hashed; 0 means DefaultMaxSize.
	MaxSize int64
	// CacheEntries bounds the hash cache; 0 means 4096.
	CacheEntries int
}

// Resolver resolves peer processes to identities, caching hashes.
type Resolver struct {
	maxSize    int64
	maxEntries int

	mu sync.Mutex
	// cache maps a file version to its digest; guarded by mu.
	cache map[FileKey]digest
}

// digest is the cached result of reading one file version.
type digest struct {
	hash    string
	trailer *Trailer
}

// NewResolver returns a Resolver.
func NewResolver(opts Options) *Resolver {
	r := &Resolver{maxSize: opts.MaxSize, maxEntries: opts.CacheEntries, cache: map[FileKey]digest{}}
	if r.maxSize <= 0 {
		r.maxSize = DefaultMaxSize
	}
	if r.maxEntries <= 0 {
		r.maxEntries = 4096
	}
	return r
}

// Resolve returns the identity of cred's process. It re-checks that the
// process is still the one that connected after hashing, so an exit or a
// PID reuse during the hash is reported as peercred.ErrProcessGone.
func (r *Resolver) Resolve(cred *peercred.Cred) (*Identity, error) {
	f, path, err := openExecutable(cred.PID)
	if err != nil {
		return nil, fmt.Errorf("open executable of pid %d: %w", cred.PID, err)
	}
	defer f.Close()

	key, err := fileKey(f)
	if err != nil {
		return nil, fmt.Errorf("stat executable %q: %w", path, err)
	}
	d, err := r.digest(f, key)
	if err != nil {
		return nil, fmt.Errorf("hash executable %q: %w", path, err)
	}

	// The process must still be the one that connected, and still run the
	// file that was hashed (an exec in between would change it).
	if err := cred.Verify(); err != nil {
		return nil, err
	}
	if err := checkSameExecutable(cred.PID, key); err != nil {
		return nil, err
	}
	return &Identity{PID: cred.PID, UID: cred.UID, Path: path, Hash: d.hash, Size: key.Size, Trailer: d.trailer}, nil
}

func (r *Resolver) digest(f *os.File, key FileKey) (digest, error) {
	r.mu.Lock()
	d, ok := r.cache[key]
	r.mu.Unlock()
	if ok {
		return d, nil
	}
	if key.Size > r.maxSize {
		return digest{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, key.Size, r.maxSize)
	}

	d, err := readDigest(f, key.Size)
	if err != nil {
		return digest{}, err
	}

	r.mu.Lock()
	if len(r.cache) >= r.maxEntries {
		// Dropping everything keeps the bound simple; executables that are
		// still in use are re-hashed once.
		clear(r.cache)
	}
	r.cache[key] = d
	r.mu.Unlock()
	return d, nil
}

// readDigest hashes the whole file and reads its trailer, if any.
func readDigest(f *os.File, size int64) (digest, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	n, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, size), buf)
	if err != nil {
		return digest{}, err
	}
	if n != size {
		return digest{}, fmt.Errorf("read %d of %d bytes", n, size)
	}
	d := digest{hash: HashPrefix + hex.EncodeToString(h.Sum(nil))}
	tr, err := readTrailer(f, size)
	if err != nil {
		return digest{}, err
	}
	d.trailer = tr
	return d, nil
}

// CachedEntries returns the number of cached hashes, for tests and status.
func (r *Resolver) CachedEntries() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.cache)
}

// CanonicalPath resolves symlinks and returns an absolute, clean path.
func CanonicalPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// HashFile returns the canonical path and hash of the file at path, as the
// CLI's register command records them.
func HashFile(path string) (canonical, hash string, err error) {
	canonical, err = CanonicalPath(path)
	if err != nil {
		return "", "", fmt.Errorf("resolve %q: %w", path, err)
	}
	f, err := os.Open(canonical)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", "", err
	}
	if !fi.Mode().IsRegular() {
		return "", "", fmt.Errorf("%q is not a regular file", canonical)
	}
	d, err := readDigest(f, fi.Size())
	if err != nil {
		return "", "", fmt.Errorf("hash %q: %w", canonical, err)
	}
	return canonical, d.hash, nil
}
