//go:build !darwin

package keychain

import "errors"

// ErrNotSupported is returned by Open and Probe on systems other than macOS.
var ErrNotSupported = errors.New("keychain: the macOS keychain is only available on macOS")

// Open returns ErrNotSupported.
func Open() (*Store, error) { return nil, ErrNotSupported }

// Probe returns ErrNotSupported.
func Probe() error { return ErrNotSupported }
