//go:build windows

package config

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// fileID identifies a version of a file by size, modification time and
// creation time. A file written by rename has its own creation time.
//
// NOTE: Windows offers no cheap inode equivalent through os.Stat, so two
// versions created and modified within the same 100 ns tick with the same
// size would look identical.
type fileID struct {
	missing bool
	// unreadable marks a stat that failed for another reason.
	unreadable bool
	size       int64
	modified   int64
	created    int64
}

// keepFileOpen is false because os.Open on Windows does not grant
// FILE_SHARE_DELETE (Go 1.26 syscall.Open), so an open file would make the
// rename in atomicfile.WriteFile fail.
const keepFileOpen = false

func statFileID(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileID{missing: true}, nil
	}
	if err != nil {
		return fileID{}, err
	}
	return fileIDFromInfo(fi), nil
}

func fileIDOf(f *os.File) (fileID, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileID{}, err
	}
	return fileIDFromInfo(fi), nil
}

func fileIDFromInfo(fi os.FileInfo) fileID {
	id := fileID{size: fi.Size(), modified: fi.ModTime().UnixNano()}
	if d, ok := fi.Sys().(*syscall.Win32FileAttributeData); ok {
		id.created = d.CreationTime.Nanoseconds()
	}
	return id
}
