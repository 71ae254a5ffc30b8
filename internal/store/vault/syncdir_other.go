//go:build !windows

package vault

import "os"

// syncDir flushes a directory's entries to disk, so a file just linked or
// renamed into it survives a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
