//go:build unix

package transport

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/keychain-auth/keychain-auth/paths"
)

type unixListener struct {
	*net.UnixListener
	path      string
	lock      *os.File
	closeOnce sync.Once
	closeErr  error
}

func (l *unixListener) Path() string { return l.path }

// Close closes the socket, removes its file and releases the lock. The file
// is removed only while the lock is still held, so a daemon never removes a
// socket that another daemon created after it.
func (l *unixListener) Close() error {
	l.closeOnce.Do(func() {
		l.UnixListener.SetUnlinkOnClose(false)
		l.closeErr = l.UnixListener.Close()
		if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) && l.closeErr == nil {
			l.closeErr = fmt.Errorf("remove socket %q: %w", l.path, err)
		}
		l.lock.Close()
	})
	return l.closeErr
}

// Permission bits per mode.
func modeBits(mode paths.Mode) (dirPerm, sockUmask fs.FileMode) {
	if mode == paths.ModeSystem {
		return 0o755, 0o111
	}
	return 0o700, 0o177
}

func listen(opts Options) (Listener, error) {
	path := opts.Path
	if path == "" {
		return nil, errors.New("listen: empty socket path")
	}
	dir := filepath.Dir(path)
	dirPerm, sockUmask := modeBits(opts.Mode)

	if err := ensureDir(dir, dirPerm); err != nil {
		return nil, err
	}

	// The lock file lives next to the socket; holding it for the daemon's
	// lifetime serializes start-up between daemons racing for the same path.
	lock, err := acquireLock(path + ".lock")
	if err != nil {
		return nil, err
	}

	if err := removeStale(path); err != nil {
		lock.Close()
		return nil, err
	}

	// Bind under a restrictive umask so the socket has its final mode from
	// the first instant; a chmod afterwards would leave a window.
	old := unix.Umask(int(sockUmask))
	ln, err := listenUnix(path)
	unix.Umask(old)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("listen on %q: %w", path, err)
	}
	ln.SetUnlinkOnClose(false)
	return &unixListener{UnixListener: ln, path: path, lock: lock}, nil
}

// ensureDir creates dir with perm, or checks an existing one: it must be a
// directory owned by this user and not writable by group or others.
func ensureDir(dir string, perm fs.FileMode) error {
	old := unix.Umask(0o077 &^ int(perm))
	err := os.MkdirAll(dir, perm)
	unix.Umask(old)
	if err != nil {
		return fmt.Errorf("create socket directory %q: %w", dir, err)
	}
	return CheckDir(dir, perm)
}

// CheckDir verifies that dir is a real directory owned by the current
// effective user and not writable by group or others. In user mode (perm
// 0700) it also removes group and other read access from a directory this
// user owns, since only the owner ever needs it.
func CheckDir(dir string, perm fs.FileMode) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("check socket directory %q: %w", dir, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("socket directory %q is not a directory (a symlink or file is in the way); remove it and start again", dir)
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("socket directory %q is owned by uid %d, not by you (uid %d); refusing to use it", dir, st.Uid, os.Geteuid())
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("socket directory %q is writable by group or others (mode %#o); run chmod 700 on it, or remove it", dir, st.Mode&0o777)
	}
	if perm == 0o700 && st.Mode&0o077 != 0 {
		if err := unix.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("restrict socket directory %q: %w", dir, err)
		}
	}
	return nil
}

func acquireLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %q: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (lock %q is held); stop it first or use another --socket", ErrAlreadyRunning, path)
		}
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	return f, nil
}

// removeStale removes a socket file that no process accepts connections on. Anything that is
// not a socket is left alone.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check socket %q: %w", path, err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%q exists and is not a socket; remove it or choose another --socket", path)
	}
	if Probe(path) {
		return fmt.Errorf("%w: %q accepts connections", ErrAlreadyRunning, path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale socket %q: %w", path, err)
	}
	return nil
}

func dial(path string, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("unix", path, timeout)
}
