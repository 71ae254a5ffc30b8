package signature

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
)

// Magic is the last four bytes of a signed file.
const Magic = "KCAS"

// TrailerSize is the number of bytes a KCAS trailer appends to a file: the
// Ed25519 signature followed by [Magic].
const TrailerSize = ed25519.SignatureSize + 4 // 4 is len(Magic)

var (
	// ErrNoTrailer is returned by VerifyFile for a file that does not end
	// in a KCAS trailer.
	ErrNoTrailer = errors.New("file has no KCAS signature trailer")

	// ErrInvalidSignature is returned by VerifyFile when the trailer's
	// signature does not verify against the given public key.
	ErrInvalidSignature = errors.New("KCAS signature does not verify")
)

// Trailer is the decoded end of a signed file.
type Trailer struct {
	// Signature is R followed by S, as produced by ed25519.Sign.
	Signature [ed25519.SignatureSize]byte

	// MessageSize is the number of signed bytes at the start of the file:
	// the file size minus TrailerSize.
	MessageSize int64
}

// ReadTrailer reads the last TrailerSize bytes of a file of the given size.
// It returns false, and no error, when the file is shorter than TrailerSize
// or does not end in Magic. It checks nothing about the signature itself.
func ReadTrailer(r io.ReaderAt, size int64) (Trailer, bool, error) {
	if size < 0 {
		return Trailer{}, false, fmt.Errorf("read trailer: negative file size %d", size)
	}
	if size < TrailerSize {
		return Trailer{}, false, nil
	}

	var buf [TrailerSize]byte
	n, err := r.ReadAt(buf[:], size-TrailerSize)
	// An io.ReaderAt may return io.EOF together with a full read at the end
	// of the input, so only a short read is an error.
	if n < len(buf) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Trailer{}, false, fmt.Errorf("read trailer: %w", err)
	}

	if !bytes.Equal(buf[ed25519.SignatureSize:], []byte(Magic)) {
		return Trailer{}, false, nil
	}
	t := Trailer{MessageSize: size - TrailerSize}
	copy(t.Signature[:], buf[:ed25519.SignatureSize])
	return t, true, nil
}
