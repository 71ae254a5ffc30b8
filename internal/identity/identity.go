// Package identity turns a peer process into the identity the policy is
// written against: the canonical path of the executable it runs and the
// SHA-256 of that executable's bytes.
//
// On Linux the bytes hashed are those of the file the process is actually
// running, opened through /proc/<pid>/exe, so replacing the file at the path
// after the process started cannot change the result. Hashes are cached by
// file identity (device, inode, size, modification and change times); any
// write to the file changes at least the change time, so a modified file is
// always re-hashed.
package identity

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/keychain-auth/keychain-auth/internal/peercred"
	"github.com/keychain-auth/keychain-auth/internal/signature"
)

// ErrNotSupported is returned on platforms without an implementation.
var ErrNotSupported = errors.New("process identity is not supported on this platform")

// ErrTooLarge reports an executable above the configured size limit.
var ErrTooLarge = errors.New("executable exceeds the size limit")

// DefaultMaxSize is the largest executable hashed by default: 1 GiB.
const DefaultMaxSize = 1 << 30

// HashPrefix starts every hash written by keychain-auth.
const HashPrefix = "sha256:"

// Identity is the daemon's record of a caller. It is fixed for the
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
	// SignedBy lists the IDs of the given signers whose KCAS trailer
	// signature on the executable verifies, in the order they were given.
	SignedBy []string
	// File identifies the executable file that was hashed.
	File FileKey
}

// Signer is a trusted public key to check a KCAS trailer against.
type Signer struct {
	// ID names the key in results; the daemon uses its base64 encoding.
	ID  string
	Key ed25519.PublicKey
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
	// DisableCache re-reads the executable on every Resolve. It exists to
	// measure what the cache saves and has no other use.
	DisableCache bool
}

// Resolver resolves peer processes to identities, caching hashes.
type Resolver struct {
	maxSize    int64
	maxEntries int
	noCache    bool

	mu sync.Mutex
	// cache maps a file version to what is known about it; guarded by mu.
	cache map[FileKey]*digest
}

// digest is the cached result of reading one file version. Its fields are
// written before it is stored in the cache and never changed afterwards.
type digest struct {
	hash string
	// signed is true when the file ends in a KCAS trailer.
	signed bool
	// verified maps signer IDs already checked to the outcome.
	verified map[string]bool
}

// NewResolver returns a Resolver.
func NewResolver(opts Options) *Resolver {
	r := &Resolver{maxSize: opts.MaxSize, maxEntries: opts.CacheEntries, noCache: opts.DisableCache, cache: map[FileKey]*digest{}}
	if r.maxSize <= 0 {
		r.maxSize = DefaultMaxSize
	}
	if r.maxEntries <= 0 {
		r.maxEntries = 4096
	}
	return r
}

// Resolve returns the identity of cred's process, checking a KCAS trailer
// against signers in the same read as the hash. It re-checks that the
// process is still the one that connected after hashing, so an exit or a
// PID reuse during the hash is reported as peercred.ErrProcessGone.
func (r *Resolver) Resolve(cred *peercred.Cred, signers []Signer) (*Identity, error) {
	f, path, err := openExecutable(cred.PID)
	if err != nil {
		return nil, fmt.Errorf("open executable of pid %d: %w", cred.PID, err)
	}
	defer f.Close()

	key, err := fileKey(f)
	if err != nil {
		return nil, fmt.Errorf("stat executable %q: %w", path, err)
	}
	d, err := r.digest(f, key, signers)
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

	id := &Identity{PID: cred.PID, UID: cred.UID, Path: path, Hash: d.hash, Size: key.Size, File: key}
	for _, s := range signers {
		if d.verified[s.ID] {
			id.SignedBy = append(id.SignedBy, s.ID)
		}
	}
	return id, nil
}

// digest returns the cached digest for key, reading the file when the
// version is new or a signer has not been checked against it yet.
func (r *Resolver) digest(f *os.File, key FileKey, signers []Signer) (*digest, error) {
	if r.noCache {
		if key.Size > r.maxSize {
			return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, key.Size, r.maxSize)
		}
		return readDigest(f, key.Size, signers)
	}

	r.mu.Lock()
	d := r.cache[key]
	r.mu.Unlock()

	var unchecked []Signer
	if d != nil {
		if !d.signed {
			return d, nil
		}
		for _, s := range signers {
			if _, ok := d.verified[s.ID]; !ok {
				unchecked = append(unchecked, s)
			}
		}
		if len(unchecked) == 0 {
			return d, nil
		}
	} else {
		unchecked = signers
	}
	if key.Size > r.maxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, key.Size, r.maxSize)
	}

	fresh, err := readDigest(f, key.Size, unchecked)
	if err != nil {
		return nil, err
	}
	if d != nil {
		// Merge earlier outcomes into a new value instead of changing the
		// cached one, which other goroutines may be reading.
		for id, ok := range d.verified {
			fresh.verified[id] = ok
		}
	}

	r.mu.Lock()
	if len(r.cache) >= r.maxEntries {
		// Dropping everything keeps the bound simple; executables that are
		// still in use are re-hashed once.
		clear(r.cache)
	}
	r.cache[key] = fresh
	r.mu.Unlock()
	return fresh, nil
}

// readDigest hashes the whole file and checks its trailer, if any, against
// signers, in one pass.
func readDigest(f *os.File, size int64, signers []Signer) (*digest, error) {
	keys := make([]ed25519.PublicKey, len(signers))
	for i, s := range signers {
		keys[i] = s.Key
	}
	sum, signedBy, err := signature.HashAndVerify(f, size, keys)
	if err != nil {
		return nil, err
	}
	_, signed, err := signature.ReadTrailer(f, size)
	if err != nil {
		return nil, err
	}
	d := &digest{hash: HashPrefix + hex.EncodeToString(sum[:]), signed: signed, verified: map[string]bool{}}
	if signed {
		for _, s := range signers {
			d.verified[s.ID] = false
		}
		for _, i := range signedBy {
			d.verified[signers[i].ID] = true
		}
	}
	return d, nil
}

// Recheck confirms that the process behind cred is still the one that was
// identified as id and still runs the same executable file. A process that
// exec'd another program, or exited and left its connection to a child,
// fails with peercred.ErrProcessGone. It costs two system calls on Linux
// with a pidfd.
func Recheck(cred *peercred.Cred, id *Identity) error {
	if err := cred.Verify(); err != nil {
		return err
	}
	return checkSameExecutable(cred.PID, id.File)
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
	d, err := readDigest(f, fi.Size(), nil)
	if err != nil {
		return "", "", fmt.Errorf("hash %q: %w", canonical, err)
	}
	return canonical, d.hash, nil
}
