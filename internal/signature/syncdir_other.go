//go:build !unix

package signature

// syncDir does nothing because Windows cannot open a directory for fsync.
//
// NOTE: without it, a rename on Windows may be lost if the machine crashes
// right after it.
func syncDir(dir string) error {
	return nil
}
