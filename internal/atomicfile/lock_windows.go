//go:build windows

package atomicfile

import (
	"os"

	"golang.org/x/sys/windows"
)

// lockFile locks the first byte of f. LockFileEx locks byte ranges, and any
// fixed range works because every writer locks the same one.
func lockFile(f *os.File) error {
	var ov windows.Overlapped
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ov)
}

func unlockFile(f *os.File) error {
	var ov windows.Overlapped
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ov)
}

// syncDir does nothing: Windows cannot open a directory for flushing, and
// NTFS journals the rename itself.
func syncDir(string) error { return nil }
