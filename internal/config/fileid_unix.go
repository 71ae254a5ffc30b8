//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package config

import (
	"os"

	"golang.org/x/sys/unix"
)

// fileID identifies a version of a file: a rename gives a new inode, and an
// in-place write changes the size or the modification and change times.
type fileID struct {
	missing bool
	// unreadable marks a stat that failed for another reason.
	unreadable bool
	dev, ino   uint64
	size       int64
	mtimeSec   int64
	mtimeNsec  int64
	ctimeSec   int64
	ctimeNsec  int64
}

// keepFileOpen pins the inode of the loaded file (see Cache).
const keepFileOpen = true

func statFileID(path string) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		if err == unix.ENOENT {
			return fileID{missing: true}, nil
		}
		return fileID{}, err
	}
	return fileIDFromStat(&st), nil
}

func fileIDOf(f *os.File) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fileID{}, err
	}
	return fileIDFromStat(&st), nil
}

func fileIDFromStat(st *unix.Stat_t) fileID {
	id := fileID{dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size}
	id.mtimeSec, id.mtimeNsec = st.Mtim.Unix()
	id.ctimeSec, id.ctimeNsec = st.Ctim.Unix()
	return id
}
