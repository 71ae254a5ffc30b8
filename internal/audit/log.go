package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// Defaults for Options.
const (
	DefaultMaxSize = 10 << 20 // bytes
	DefaultKeep    = 5
)

// maxRecordSize is the maximum length in bytes of one encoded record. A
// request line is at most 1 MiB, so a record of its targets stays well below
// this. Verify and Read treat longer lines as damaged.
const maxRecordSize = 8 << 20

// Options configures a Log.
type Options struct {
	// MaxSize is the size in bytes that audit.log may reach before it is
	// rotated. A single record larger than MaxSize still goes into a new,
	// empty file. Zero means DefaultMaxSize.
	MaxSize int64
	// Keep is the number of rotated files (audit.log.1 ... audit.log.Keep)
	// kept. Older files are deleted. Zero means DefaultKeep.
	Keep int
}

func (o Options) withDefaults() Options {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.Keep <= 0 {
		o.Keep = DefaultKeep
	}
	return o
}

// TornTail describes an incomplete last line that Open found in audit.log,
// typically left by a crash in the middle of a write. Open leaves the bytes
// in place and the next record starts on a new line, so Verify reports the
// torn line as a break.
type TornTail struct {
	File   string // path of the file
	Offset int64  // byte offset where the incomplete line starts
	Length int64  // length of the incomplete line in bytes
}

// Log appends records to audit.log in one directory. It is safe for
// concurrent use.
type Log struct {
	dir  string
	opts Options
	torn *TornTail // found by Open; never changed afterwards

	mu     sync.Mutex // guards all fields below
	f      *os.File   // nil after Close or a failed rotation
	closed bool
	size   int64    // bytes in the current file
	seq    uint64   // seq of the last record written
	prev   [32]byte // SHA-256 of the last record's line
	// needNewline is set when the current file ends in the middle of a line
	// (torn by a crash or a short write), so the next record first ends it.
	needNewline bool
	buf         []byte // reused encoding buffer
}

// Open opens or creates dir/audit.log for appending, creating dir with mode
// 0700 and the file with mode 0600. It rejects a directory that other users
// can write. The chain continues from the last complete record of audit.log,
// or of the newest rotated file when audit.log has none. A torn last line is
// kept and reported by TornTail. Open fails when the last complete line of
// the file is not a valid record, because the chain cannot continue from it.
func Open(dir string, opts Options) (*Log, error) {
	if err := prepareDir(dir); err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}

	l := &Log{dir: dir, opts: opts.withDefaults()}
	if err := l.openCurrent(); err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	if err := l.resume(); err != nil {
		l.f.Close()
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	return l, nil
}

func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%q is not a directory", dir)
	}
	// Another user who can write the directory could delete or replace the
	// log. Windows has no mode bits and relies on the directory's ACL.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("directory %q is writable by group or others (mode %#o); run chmod 700 on it",
			dir, fi.Mode().Perm())
	}
	return nil
}

// openCurrent opens audit.log for appending and reading. It follows a
// symlink, because a process that can create one in the 0700 directory
// could also edit the log.
func (l *Log) openCurrent() error {
	path := filepath.Join(l.dir, currentName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}

	// A file left by an older version or another tool may be readable by
	// others. Only regular files are changed: a device such as /dev/full
	// behind a symlink is not ours to chmod.
	if runtime.GOOS != "windows" && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return err
		}
	}

	l.f = f
	l.size = 0
	if fi.Mode().IsRegular() {
		l.size = fi.Size()
	}
	return nil
}

// resume sets seq and prev from the last complete record on disk.
func (l *Log) resume() error {
	last, torn, err := readTail(l.f, l.size)
	if err != nil {
		return fmt.Errorf("read end of %q: %w", l.f.Name(), err)
	}
	if torn > 0 {
		l.needNewline = true
		l.torn = &TornTail{File: l.f.Name(), Offset: l.size - torn, Length: torn}
	}
	if last != nil {
		return l.continueFrom(l.f.Name(), last)
	}

	// audit.log has no complete record, so the chain continues from the
	// newest rotated file, if any. Its own torn tail is left to Verify.
	numbers, err := rotatedNumbers(l.dir)
	if err != nil {
		return err
	}
	if len(numbers) == 0 {
		return nil
	}
	path := rotatedPath(l.dir, numbers[0])
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	last, _, err = readTail(f, fi.Size())
	if err != nil {
		return fmt.Errorf("read end of %q: %w", path, err)
	}
	if last == nil {
		return nil
	}
	return l.continueFrom(path, last)
}

func (l *Log) continueFrom(path string, line []byte) error {
	fields, err := parseLink(line)
	if err != nil {
		return fmt.Errorf("cannot continue the chain from %q because its last complete line is not a valid record (move the file out of the directory and check it): %v", path, err)
	}
	l.seq = fields.Seq
	l.prev = sha256.Sum256(line)
	return nil
}

// TornTail returns the incomplete last line that Open found, if any, so the
// daemon can log it.
func (l *Log) TornTail() (TornTail, bool) {
	if l.torn == nil {
		return TornTail{}, false
	}
	return *l.torn, true
}

// Last returns the seq and hex SHA-256 of the last record written or found
// by Open. Seq 0 means the chain is empty. Logging these elsewhere lets an
// operator detect records removed from the end of the log.
func (l *Log) Last() (seq uint64, hash string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq, hex.EncodeToString(l.prev[:])
}

var errClosed = errors.New("audit log is closed")

// Write sets r's seq and prev, and its time if zero, and appends it as one
// line with a single write system call (os.File.Write makes another only
// after a short write). It returns an error unless the whole line reached
// the file, and the caller must then reject the request. After a failure the
// chain continues from the last record written in full.
//
// Write does not fsync, because a record handed to the kernel already
// survives a crash of the daemon, and an fsync per record would limit the
// request rate to the rate at which the disk can sync. A power loss or kernel
// crash can lose records that the kernel has not yet written back (up to
// about 30 s with Linux defaults). Call Sync where that matters.
func (l *Log) Write(r Record) error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("write audit record: %w", err)
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("write audit record: %w", errClosed)
	}

	// Encode after a spare newline, used only when the file ends in a torn line.
	seq := l.seq + 1
	buf := append(l.buf[:0], '\n')
	buf = appendRecord(buf, &r, seq, &l.prev)
	line := buf[1:]
	if len(buf) <= 64<<10 {
		l.buf = buf
	}
	if len(line) > maxRecordSize {
		return fmt.Errorf("write audit record: record is %d bytes, more than the maximum %d", len(line), maxRecordSize)
	}

	if err := l.prepareFile(int64(len(line))); err != nil {
		return fmt.Errorf("write audit record: %w", err)
	}
	out := line
	if l.needNewline {
		out = buf
	}
	n, err := l.f.Write(out)
	l.size += int64(n)
	if n > 0 {
		l.needNewline = out[n-1] != '\n'
	}
	if err == nil && n < len(out) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("write audit record: %w", err)
	}

	l.seq = seq
	l.prev = sha256.Sum256(line[:len(line)-1])
	return nil
}

// prepareFile makes sure a file is open and rotates it when a line of
// lineSize bytes would take it past MaxSize.
func (l *Log) prepareFile(lineSize int64) error {
	if l.f == nil {
		if err := l.openCurrent(); err != nil {
			return err
		}
	}
	if l.size > 0 && l.size+lineSize > l.opts.MaxSize {
		return l.rotate()
	}
	return nil
}

// rotate renames audit.log to audit.log.1 after shifting older files up by
// one, and opens a new audit.log. On failure it reopens the old audit.log,
// or leaves no file open for the next Write to retry.
//
// NOTE: on Windows a rename fails while another process has the file open
// without delete sharing (Verify and Read share it), so Write fails until
// that process closes the file. This path has not been run on Windows.
func (l *Log) rotate() error {
	closeErr := l.f.Close()
	l.f = nil
	if closeErr != nil {
		return fmt.Errorf("rotate audit log: %w", closeErr)
	}

	if err := shiftRotated(l.dir, l.opts.Keep); err != nil {
		l.openCurrent()
		return fmt.Errorf("rotate audit log: %w", err)
	}
	if err := os.Rename(filepath.Join(l.dir, currentName), rotatedPath(l.dir, 1)); err != nil {
		l.openCurrent()
		return fmt.Errorf("rotate audit log: %w", err)
	}
	if err := l.openCurrent(); err != nil {
		return fmt.Errorf("rotate audit log: %w", err)
	}
	l.needNewline = false
	return nil
}

// shiftRotated renames audit.log.N to audit.log.N+1, newest last so nothing
// is overwritten, and deletes the files that would be numbered above keep.
func shiftRotated(dir string, keep int) error {
	numbers, err := rotatedNumbers(dir)
	if err != nil {
		return err
	}
	for i := len(numbers) - 1; i >= 0; i-- {
		n := numbers[i]
		if n >= keep {
			if err := os.Remove(rotatedPath(dir, n)); err != nil {
				return err
			}
			continue
		}
		if err := os.Rename(rotatedPath(dir, n), rotatedPath(dir, n+1)); err != nil {
			return err
		}
	}
	return nil
}

// Sync flushes the current file to stable storage.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("sync audit log: %w", errClosed)
	}
	if l.f == nil {
		return nil
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("sync audit log: %w", err)
	}
	return nil
}

// Close closes the file. Later calls to Write fail.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.f == nil {
		return nil
	}
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("close audit log: %w", err)
	}
	return nil
}
