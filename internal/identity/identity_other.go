//go:build !linux && !darwin && !windows

package identity

import "os"

func openExecutable(pid int) (*os.File, string, error) { return nil, "", ErrNotSupported }

func fileKey(f *os.File) (FileKey, error) { return FileKey{}, ErrNotSupported }

func checkSameExecutable(pid int, key FileKey) error { return ErrNotSupported }

// CommandLine returns the arguments of process pid.
func CommandLine(pid int) ([]string, error) { return nil, ErrNotSupported }
