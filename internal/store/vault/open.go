package vault

import (
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Errors that callers may test with errors.Is.
var (
	// ErrInUse reports that another process holds the vault file's lock.
	ErrInUse = errors.New("vault is in use by another process")
	// ErrWrongKey reports a key or passphrase that does not open the vault.
	ErrWrongKey = errors.New("wrong vault key")
	// ErrCorrupt reports a damaged vault file or a record that fails
	// authentication. The vault never reads such a file as empty.
	ErrCorrupt = errors.New("vault is corrupt")
)

// Default names of the vault file and its key file inside the data directory.
const (
	FileName    = "vault.db"
	KeyFileName = "vault.key"
)

// lockTimeout bounds the wait for the file lock, so a second daemon fails
// with ErrInUse instead of hanging.
const lockTimeout = 2 * time.Second

// Bucket and metadata key names. The package documentation describes the layout.
var (
	bucketMeta     = []byte("meta")
	bucketServices = []byte("services")

	metaFormat    = []byte("format")
	metaKeyKind   = []byte("key_kind")
	metaKeyParams = []byte("key_params")
	metaKeyCheck  = []byte("key_check")
)

// Open opens the vault at path, creating it if the file does not exist.
// The parent directory is created with mode 0700 and a new vault file with
// mode 0600. Open asks the key source for its key once, or twice if another
// process creates the same vault at the same moment.
//
// Open checks the whole file before it returns: the bbolt structure, the key
// check value, and the authentication tag of every record.
func Open(path string, src KeySource) (*Vault, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open vault %q: create directory: %w", path, err)
	}

	var aead cipher.AEAD
	_, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		aead, err = create(path, src)
		if errors.Is(err, fs.ErrExist) {
			// Another process created the vault first: open that one.
			aead, err = nil, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open vault %q: %w", path, err)
	}

	db, err := openDB(path, false)
	if err != nil {
		return nil, fmt.Errorf("open vault %q: %w", path, err)
	}
	v, err := unlock(db, src, aead)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open vault %q: %w", path, err)
	}
	return v, nil
}

// create builds a new vault under a temporary name in the same directory
// and links it to path only once its metadata is committed, so a vault file
// at path is always complete. It returns the AEAD for the new key, or an
// error matching fs.ErrExist if path appeared in the meantime.
func create(path string, src KeySource) (cipher.AEAD, error) {
	key, params, err := src.Key(KeyRequest{Create: true})
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".new-*")
	if err != nil {
		return nil, err
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName)

	db, err := openDB(tmpName, true)
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucket(bucketServices); err != nil {
			return err
		}
		return putAll(meta, map[string][]byte{
			string(metaFormat):    {formatVersion},
			string(metaKeyKind):   []byte(src.Kind()),
			string(metaKeyParams): params,
			string(metaKeyCheck):  sealKeyCheck(aead),
		})
	})
	if closeErr := db.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, fmt.Errorf("initialize new vault: %w", err)
	}

	if err := linkNoReplace(tmpName, path); err != nil {
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("sync directory %q: %w", dir, err)
	}
	return aead, nil
}

func putAll(b *bolt.Bucket, values map[string][]byte) error {
	for k, v := range values {
		if v == nil {
			continue
		}
		if err := b.Put([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

// openDB opens a vault's bbolt file with a bounded lock wait. Unless create
// is set, the file must already exist and be non-empty, because bbolt would
// silently initialize an empty file as a new database, and its structure is
// checked first in a read-only pass. In that mode bbolt.Open reads only the
// two meta pages, so the length check runs before bbolt follows a page
// reference past the end of a truncated file.
func openDB(path string, create bool) (*bolt.DB, error) {
	if !create {
		ro, err := openBolt(path, false, true)
		if err != nil {
			return nil, err
		}
		err = checkStructure(ro)
		ro.Close()
		if err != nil {
			return nil, err
		}
	}
	return openBolt(path, create, false)
}

// openBolt calls bolt.Open. A damaged file can make bbolt read past the end
// of its memory map, which raises a fault rather than an error. openBolt
// turns such faults and bbolt's own panics into ErrCorrupt.
func openBolt(path string, create, readOnly bool) (db *bolt.DB, err error) {
	var file *os.File
	openFile := func(name string, flag int, perm os.FileMode) (*os.File, error) {
		if !create {
			flag &^= os.O_CREATE
		}
		f, err := os.OpenFile(name, flag, perm)
		if err != nil {
			return nil, err
		}
		info, err := f.Stat()
		if err == nil && info.Size() == 0 && !create {
			err = fmt.Errorf("%w: file is empty", ErrCorrupt)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		file = f
		return f, nil
	}

	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			// bbolt did not finish opening, so the file descriptor and its
			// lock are ours to release.
			if file != nil {
				file.Close()
			}
			db, err = nil, fmt.Errorf("%w: reading the file failed: %v", ErrCorrupt, r)
		}
	}()

	opts := &bolt.Options{Timeout: lockTimeout, OpenFile: openFile, ReadOnly: readOnly}
	db, err = bolt.Open(path, 0o600, opts)
	if err != nil {
		return nil, classifyOpenError(err)
	}
	return db, nil
}

// checkStructure verifies that the file is as long as its metadata requires,
// then runs bbolt's consistency check. The length comes first because
// bbolt's check runs on its own goroutine, where a read past the end of the
// file would crash the process.
func checkStructure(db *bolt.DB) (err error) {
	defer recoverCorrupt(&err)
	info, err := os.Stat(db.Path())
	if err != nil {
		return err
	}
	return db.View(func(tx *bolt.Tx) error {
		if tx.Size() > info.Size() {
			return fmt.Errorf("%w: file is truncated to %d bytes; its metadata needs %d", ErrCorrupt, info.Size(), tx.Size())
		}

		// Read every error, so the checking goroutine ends, and report the first.
		var first error
		for err := range tx.Check(bolt.WithKVStringer(checkStringer{})) {
			if first == nil {
				first = err
			}
		}
		if first != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, first)
		}
		return nil
	})
}

// checkStringer renders keys in bbolt's check messages as hexadecimal cut
// to 32 bytes, and values only by their length.
type checkStringer struct{}

func (checkStringer) KeyToString(key []byte) string {
	const limit = 32
	if len(key) > limit {
		return hex.EncodeToString(key[:limit]) + "..."
	}
	return hex.EncodeToString(key)
}

func (checkStringer) ValueToString(value []byte) string {
	return fmt.Sprintf("(%d bytes)", len(value))
}

// classifyOpenError maps a bbolt.Open error to ErrInUse, to a plain I/O
// error, or to ErrCorrupt. bbolt reports some damage, such as a file shorter
// than two pages, as unnamed errors, so anything that is neither a lock
// timeout nor a system call failure counts as damage.
func classifyOpenError(err error) error {
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return ErrInUse
	case errors.Is(err, ErrCorrupt), errors.As(err, &pathErr), errors.As(err, &errno):
		return err
	default:
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
}
