//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package atomicfile

import "os"

func lockFile(*os.File) error   { return ErrUnsupported }
func unlockFile(*os.File) error { return ErrUnsupported }
func syncDir(string) error      { return nil }
