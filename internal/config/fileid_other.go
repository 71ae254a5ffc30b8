//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package config

import (
	"errors"
	"io/fs"
	"os"
)

// fileID identifies a version of a file by size and modification time.
//
// NOTE: on these platforms a rewrite with the same size within the file
// system's timestamp granularity goes unnoticed.
type fileID struct {
	missing bool
	// unreadable marks a stat that failed for another reason.
	unreadable bool
	size       int64
	modified   int64
}

const keepFileOpen = false

func statFileID(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileID{missing: true}, nil
	}
	if err != nil {
		return fileID{}, err
	}
	return fileID{size: fi.Size(), modified: fi.ModTime().UnixNano()}, nil
}

func fileIDOf(f *os.File) (fileID, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileID{}, err
	}
	return fileID{size: fi.Size(), modified: fi.ModTime().UnixNano()}, nil
}
