//go:build !linux

package main

import "errors"

func run(mode string, args []string) error {
	return errors.New("kaprobe runs on Linux only")
}
