//go:build unix

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// keepOwner gives tmp the owner and group of the file at path, when that
// file exists and belongs to someone else. Only root can do that, so for
// any other user a file owned by someone else is an error.
func keepOwner(tmp *os.File, path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if int(st.Uid) == os.Geteuid() && int(st.Gid) == os.Getegid() {
		return nil
	}
	return tmp.Chown(int(st.Uid), int(st.Gid))
}
