package identity

import (
	"bytes"
	"io"
)

// TrailerSize is the size of a KCAS trailer: a 64-byte Ed25519 signature
// followed by the 4-byte magic "KCAS".
const TrailerSize = 68

// TrailerMagic ends every signed file.
var TrailerMagic = []byte("KCAS")

// Trailer is a signature trailer read from the end of an executable.
type Trailer struct {
	Signature [64]byte
	// SignedSize is the number of bytes the signature covers.
	SignedSize int64
	// Signer is the base64 public key of the trusted signer that verified
	// it, or empty when no trusted signer did.
	Signer string
}

// readTrailer returns the trailer at the end of f, or nil when the file is
// too short or does not end in the magic.
func readTrailer(f io.ReaderAt, size int64) (*Trailer, error) {
	if size < TrailerSize {
		return nil, nil
	}
	var buf [TrailerSize]byte
	if _, err := f.ReadAt(buf[:], size-TrailerSize); err != nil {
		return nil, err
	}
	if !bytes.Equal(buf[64:], TrailerMagic) {
		return nil, nil
	}
	t := &Trailer{SignedSize: size - TrailerSize}
	copy(t.Signature[:], buf[:64])
	return t, nil
}
