package transport

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/keychain-auth/keychain-auth/paths"
)

// Activated returns the listening socket that systemd passed to this
// process (LISTEN_PID is this process and LISTEN_FDS is 1), after checking
// that it is a listening Unix stream socket bound to opts.Path in a
// directory that passes the same checks as one the daemon creates. It
// returns ok == false, and no error, when the process was not
// socket-activated. On success the activation variables are removed from
// the environment and the descriptor is no longer inherited by children.
//
// Closing the listener leaves the socket file alone: systemd created it
// and keeps listening on it to start the daemon again.
func Activated(opts Options) (ln Listener, ok bool, err error) {
	fd, err := activationFD(os.LookupEnv, os.Getpid())
	if errors.Is(err, errNotActivated) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	clearActivationEnv()

	ln, err = listenerFromFD(fd, opts)
	if err != nil {
		return nil, false, err
	}
	return ln, true, nil
}

type activatedListener struct {
	*net.UnixListener
	path      string
	lock      *os.File
	closeOnce sync.Once
	closeErr  error
}

func (l *activatedListener) Path() string { return l.path }

// Close stops accepting and releases the lock; the socket file stays.
func (l *activatedListener) Close() error {
	l.closeOnce.Do(func() {
		l.closeErr = l.UnixListener.Close()
		l.lock.Close()
	})
	return l.closeErr
}

// listenerFromFD checks the passed socket fd and wraps it. It takes
// ownership of fd and closes it on every path.
func listenerFromFD(fd int, opts Options) (Listener, error) {
	file := os.NewFile(uintptr(fd), "activated-socket")
	defer file.Close()

	if opts.Path == "" {
		return nil, errors.New("socket activation: empty socket path")
	}
	path := filepath.Clean(opts.Path)
	if err := checkActivatedSocket(fd, path); err != nil {
		return nil, err
	}
	// The socket unit should set PassCredentials=yes so that clients that
	// connected before the daemon started carry credentials too; setting
	// it here covers every later connection.
	if err := enablePassCred(fd); err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	if err := checkActivatedDir(filepath.Dir(path), opts.Mode); err != nil {
		return nil, err
	}
	if err := checkActivatedFile(path, opts.Mode); err != nil {
		return nil, err
	}

	lock, err := acquireLock(path + ".lock")
	if err != nil {
		return nil, err
	}
	// FileListener duplicates the descriptor with close-on-exec set, so the
	// listener is not inherited by programs the daemon starts.
	fl, err := net.FileListener(file)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("socket activation: use descriptor %d: %w", fd, err)
	}
	ul, ok := fl.(*net.UnixListener)
	if !ok {
		fl.Close()
		lock.Close()
		return nil, fmt.Errorf("socket activation: descriptor %d is a %T, not a Unix listener", fd, fl)
	}
	ul.SetUnlinkOnClose(false)
	return &activatedListener{UnixListener: ul, path: path, lock: lock}, nil
}

// checkActivatedSocket verifies that fd is a listening AF_UNIX stream
// socket bound to path.
func checkActivatedSocket(fd int, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("socket activation: descriptor %d: %w", fd, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("socket activation: descriptor %d is not a socket (mode %#o)", fd, st.Mode&unix.S_IFMT)
	}

	domain, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return fmt.Errorf("socket activation: read socket domain: %w", err)
	}
	if domain != unix.AF_UNIX {
		return fmt.Errorf("socket activation: descriptor %d has address family %d, want a Unix socket (ListenStream=<path>)", fd, domain)
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("socket activation: read socket type: %w", err)
	}
	if typ != unix.SOCK_STREAM {
		return fmt.Errorf("socket activation: descriptor %d has socket type %d, want a stream socket (ListenStream, not ListenDatagram or ListenSequentialPacket)", fd, typ)
	}
	listening, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil {
		return fmt.Errorf("socket activation: read listening state: %w", err)
	}
	if listening != 1 {
		return fmt.Errorf("socket activation: descriptor %d is not listening; set Accept=no in the .socket unit", fd)
	}

	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fmt.Errorf("socket activation: read socket address: %w", err)
	}
	addr, ok := sa.(*unix.SockaddrUnix)
	if !ok || filepath.Clean(addr.Name) != path {
		name := ""
		if ok {
			name = addr.Name
		}
		return fmt.Errorf("socket activation: passed socket is bound to %q, not to %q; make ListenStream in the .socket unit and --socket agree", name, path)
	}
	return nil
}

// checkActivatedDir applies the transport's directory rules to a directory
// systemd created. In system mode the system manager creates it as root,
// so root is accepted as owner there besides the daemon's user.
func checkActivatedDir(dir string, mode paths.Mode) error {
	if mode != paths.ModeSystem {
		return CheckDir(dir, 0o700)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("check socket directory %q: %w", dir, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("socket directory %q is not a directory; remove it and start again", dir)
	}
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("socket directory %q is owned by uid %d, neither root nor the daemon's uid %d; refusing to use it", dir, st.Uid, os.Geteuid())
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("socket directory %q is writable by group or others (mode %#o); set DirectoryMode=0755 in the .socket unit", dir, st.Mode&0o777)
	}
	return nil
}

// checkActivatedFile verifies the socket file at path. In user mode it must
// belong to the daemon's user with mode 0600 (SocketMode=0600), matching
// what Listen creates.
func checkActivatedFile(path string, mode paths.Mode) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("socket activation: check socket file %q: %w", path, err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("socket activation: %q is not a socket file", path)
	}
	if mode == paths.ModeSystem {
		return nil
	}
	st, ok := fi.Sys().(*unix.Stat_t)
	if ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("socket activation: socket %q is owned by uid %d, not by the daemon's uid %d", path, st.Uid, os.Geteuid())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("socket activation: socket %q has mode %#o; set SocketMode=0600 in the .socket unit", path, perm)
	}
	return nil
}
