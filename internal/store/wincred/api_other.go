//go:build !windows

package wincred

import "errors"

// ErrNotSupported is returned by Open and Probe on systems other than Windows.
var ErrNotSupported = errors.New("wincred: Windows Credential Manager is only available on Windows")

// Open returns ErrNotSupported.
func Open() (*Store, error) { return nil, ErrNotSupported }

// Probe returns ErrNotSupported.
func Probe() error { return ErrNotSupported }
