//go:build !unix

package atomicfile

import "os"

// keepOwner does nothing where files have no Unix owner; on Windows a new
// file inherits the ACL of its directory.
func keepOwner(tmp *os.File, path string) error { return nil }
