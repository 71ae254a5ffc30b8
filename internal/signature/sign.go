package signature

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"filippo.io/edwards25519"
)

// Sign appends a KCAS trailer signed by priv to the file at path, replacing
// the trailer the file already has. A symbolic link is followed, and the
// file it points to is replaced.
//
// An existing trailer is recognised only by its Magic suffix, so a file of
// at least TrailerSize bytes that happens to end in "KCAS" loses its last
// TrailerSize bytes. The new file is written to a temporary file in the
// same directory, synced, given the original permission bits and renamed
// over the original, so a reader sees either the old or the new file.
// The owner is not kept: the new file belongs to the user who signs.
//
// The signature is the one ed25519.Sign would produce, computed in two
// passes over the file so that it never has to be in memory at once.
func Sign(priv ed25519.PrivateKey, path string) error {
	if err := checkPrivateKey(priv); err != nil {
		return fmt.Errorf("sign %q: %w", path, err)
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if err := signFile(priv, target); err != nil {
		return fmt.Errorf("sign %q: %w", target, err)
	}
	return nil
}

func signFile(priv ed25519.PrivateKey, path string) (err error) {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()

	info, err := src.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("not a regular file (mode %s)", info.Mode())
	}
	messageSize := info.Size()
	if _, signed, err := ReadTrailer(src, info.Size()); err != nil {
		return err
	} else if signed {
		messageSize -= TrailerSize
	}

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".sign-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	// The signer copies the message into tmp and reads it back from there,
	// so the signature covers exactly the bytes that are renamed into place.
	s := newStreamSigner(priv)
	copied, err := io.Copy(io.MultiWriter(tmp, s.nonceHash), io.NewSectionReader(src, 0, messageSize))
	if err != nil {
		return fmt.Errorf("copy to temporary file: %w", err)
	}
	if copied != messageSize {
		return fmt.Errorf("file shrank from %d to %d bytes while signing; retry", messageSize, copied)
	}
	// Close the original before the rename, because Windows may refuse to
	// replace a file that is open.
	src.Close()

	sig, err := s.sign(io.NewSectionReader(tmp, 0, messageSize))
	if err != nil {
		return err
	}

	if _, err := tmp.Write(append(sig, Magic...)); err != nil {
		return fmt.Errorf("write trailer: %w", err)
	}
	if err := tmp.Chmod(info.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)); err != nil {
		return fmt.Errorf("set mode on temporary file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync temporary file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close temporary file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace file: %w", err)
	}
	return syncDir(dir)
}

// streamSigner computes a pure Ed25519 signature (RFC 8032, section 5.1.6)
// over a message read twice: once into nonceHash to derive r, and once more
// to compute k = SHA-512(R || A || M). The result is byte for byte what
// ed25519.Sign returns for the same key and message.
type streamSigner struct {
	scalar    *edwards25519.Scalar // the clamped secret scalar s
	prefix    []byte               // the second half of SHA-512(seed)
	publicKey []byte
	nonceHash hash.Hash // SHA-512(prefix || M), fed by the first pass
}

func newStreamSigner(priv ed25519.PrivateKey) *streamSigner {
	h := sha512.Sum512(priv.Seed())
	s, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		// SetBytesWithClamping fails only for input that is not 32 bytes.
		panic("signature: clamped scalar rejected")
	}

	nonceHash := sha512.New()
	nonceHash.Write(h[32:])
	return &streamSigner{
		scalar:    s,
		prefix:    bytes.Clone(h[32:]),
		publicKey: priv[ed25519.SeedSize:],
		nonceHash: nonceHash,
	}
}

// sign reads the message a second time from m and returns the signature.
// It hashes the nonce input again on this pass and fails if it differs from
// the first: signing two different messages with one nonce r would reveal
// the private key.
func (s *streamSigner) sign(m io.Reader) ([]byte, error) {
	nonceDigest := s.nonceHash.Sum(nil)
	r, err := edwards25519.NewScalar().SetUniformBytes(nonceDigest)
	if err != nil {
		panic("signature: SHA-512 digest rejected as scalar input")
	}
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()

	challengeHash := sha512.New()
	challengeHash.Write(R)
	challengeHash.Write(s.publicKey)
	recheck := sha512.New()
	recheck.Write(s.prefix)
	if _, err := io.Copy(io.MultiWriter(challengeHash, recheck), m); err != nil {
		return nil, fmt.Errorf("read temporary file: %w", err)
	}
	if !bytes.Equal(recheck.Sum(nil), nonceDigest) {
		return nil, errors.New("temporary file changed while signing")
	}

	k, err := edwards25519.NewScalar().SetUniformBytes(challengeHash.Sum(nil))
	if err != nil {
		panic("signature: SHA-512 digest rejected as scalar input")
	}
	S := edwards25519.NewScalar().MultiplyAdd(k, s.scalar, r)

	return append(R, S.Bytes()...), nil
}

// VerifyFile checks that the file at path ends in a KCAS trailer whose
// signature verifies against pub. It returns nil if so, an error wrapping
// ErrNoTrailer or ErrInvalidSignature if not, and another error if the file
// cannot be read.
func VerifyFile(pub ed25519.PublicKey, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("verify %q: not a regular file (mode %s)", path, info.Mode())
	}

	trailer, signed, err := ReadTrailer(f, info.Size())
	if err != nil {
		return fmt.Errorf("verify %q: %w", path, err)
	}
	if !signed {
		return fmt.Errorf("verify %q: %w", path, ErrNoTrailer)
	}

	v := NewVerifier(trailer, []ed25519.PublicKey{pub})
	buf := make([]byte, chunkSize)
	if _, err := io.CopyBuffer(v, io.NewSectionReader(f, 0, trailer.MessageSize), buf); err != nil {
		return fmt.Errorf("verify %q: %w", path, err)
	}
	signedBy, err := v.Result()
	if err != nil {
		return fmt.Errorf("verify %q: %w", path, err)
	}
	if len(signedBy) == 0 {
		return fmt.Errorf("verify %q: %w", path, ErrInvalidSignature)
	}
	return nil
}
