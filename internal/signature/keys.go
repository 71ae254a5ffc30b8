package signature

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/edwards25519"
)

// PEM block types of the key files.
const (
	publicKeyPEMType  = "PUBLIC KEY"
	privateKeyPEMType = "PRIVATE KEY"
)

// GenerateKey returns a new Ed25519 key pair from crypto/rand.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey) {
	seed := make([]byte, ed25519.SeedSize)
	// Since Go 1.24, crypto/rand.Read never returns an error: it crashes
	// the program if the system's random source fails.
	rand.Read(seed)
	priv := ed25519.NewKeyFromSeed(seed)
	return priv.Public().(ed25519.PublicKey), priv
}

// EncodePublicKey returns the standard base64 encoding of the raw 32-byte
// key, the form stored in config.json trusted_signers[].public_key.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey decodes an Ed25519 public key given as standard base64 of
// the raw 32 bytes, standard base64 of a DER SubjectPublicKeyInfo, or a PEM
// "PUBLIC KEY" block. Surrounding whitespace is ignored. The key must be
// the canonical encoding of a curve point that is not of small order, which
// every key made by a key generator is. Errors never quote the input, which
// may be private key material pasted by mistake.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("parse public key: empty input")
	}
	if strings.HasPrefix(s, "-----BEGIN") {
		return parsePublicKeyPEM([]byte(s))
	}
	if strings.HasPrefix(s, "ssh-ed25519 ") {
		return nil, errors.New("parse public key: OpenSSH format is not supported; convert it with ssh-keygen -e -m PKCS8 -f KEY.pub")
	}

	der, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("parse public key: invalid base64 (expected standard alphabet with padding, or a PEM block)")
	}
	if len(der) == ed25519.PublicKeySize {
		return checkPublicKey(der)
	}
	return parsePublicKeyDER(der)
}

// parsePublicKeyPEM decodes exactly one PEM "PUBLIC KEY" block.
func parsePublicKeyPEM(data []byte) (ed25519.PublicKey, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("parse public key: invalid PEM block")
	}
	if strings.Contains(block.Type, "PRIVATE") {
		return nil, fmt.Errorf("parse public key: PEM block is a %q; give the public key instead", block.Type)
	}
	if block.Type != publicKeyPEMType {
		return nil, fmt.Errorf("parse public key: PEM block type is %q, want %q", block.Type, publicKeyPEMType)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("parse public key: unexpected data after the PEM block")
	}
	return parsePublicKeyDER(block.Bytes)
}

// parsePublicKeyDER decodes a DER SubjectPublicKeyInfo holding an Ed25519 key.
func parsePublicKeyDER(der []byte) (ed25519.PublicKey, error) {
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		// A private key pasted in place of the public one gets its own
		// message. The x509 error is not wrapped here, so that no part of
		// the private key's parse can reach the message.
		if _, privErr := x509.ParsePKCS8PrivateKey(der); privErr == nil {
			return nil, errors.New("parse public key: input is a PKCS #8 private key; give the public key instead")
		}
		return nil, fmt.Errorf("parse public key: not a 32-byte key or a DER SubjectPublicKeyInfo: %w", err)
	}

	pub, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("parse public key: key type is %T, want Ed25519", key)
	}
	return checkPublicKey(pub)
}

// checkPublicKey returns a copy of key if it is the canonical encoding of a
// curve point outside the small-order subgroup. ed25519.Verify accepts
// small-order keys, but no key pair produces one, and with such a key a
// signature over any message can be forged (the identity point, for one,
// verifies R = identity and S = 0 for every message).
func checkPublicKey(key []byte) (ed25519.PublicKey, error) {
	point, err := new(edwards25519.Point).SetBytes(key)
	if err != nil {
		return nil, errors.New("parse public key: key is not a valid Ed25519 curve point")
	}
	if !bytes.Equal(point.Bytes(), key) {
		return nil, errors.New("parse public key: key is not canonically encoded")
	}
	if new(edwards25519.Point).MultByCofactor(point).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, errors.New("parse public key: key is a small-order point, which would accept forged signatures")
	}
	return ed25519.PublicKey(bytes.Clone(key)), nil
}

// MarshalPublicKeyPEM encodes pub as a PEM "PUBLIC KEY" block holding a DER
// SubjectPublicKeyInfo, the form openssl writes with pkey -pubout.
func MarshalPublicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("marshal public key: length is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: publicKeyPEMType, Bytes: der}), nil
}

// MarshalPrivateKeyPEM encodes priv as an unencrypted PKCS #8 PEM
// "PRIVATE KEY" block, the form openssl genpkey writes.
func MarshalPrivateKeyPEM(priv ed25519.PrivateKey) ([]byte, error) {
	if err := checkPrivateKey(priv); err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, errors.New("marshal private key: PKCS #8 encoding failed")
	}
	return pem.EncodeToMemory(&pem.Block{Type: privateKeyPEMType, Bytes: der}), nil
}

// ParsePrivateKeyPEM decodes an unencrypted PKCS #8 PEM "PRIVATE KEY" block
// holding an Ed25519 key. Errors never include any part of the input, and
// the underlying parser's error is dropped for the same reason.
func ParsePrivateKeyPEM(data []byte) (ed25519.PrivateKey, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("parse private key: no PEM block found")
	}
	if block.Type != privateKeyPEMType {
		return nil, fmt.Errorf("parse private key: PEM block type is %q, want %q (unencrypted PKCS #8)", block.Type, privateKeyPEMType)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("parse private key: unexpected data after the PEM block")
	}

	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("parse private key: invalid PKCS #8 data")
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("parse private key: key type is %T, want Ed25519", key)
	}
	return priv, nil
}

// checkPrivateKey returns an error unless priv is a seed followed by the
// public key that the seed derives, as ed25519.NewKeyFromSeed lays it out.
func checkPrivateKey(priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("private key length is %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	derived := ed25519.NewKeyFromSeed(priv.Seed())
	if !bytes.Equal(derived[ed25519.SeedSize:], priv[ed25519.SeedSize:]) {
		return errors.New("private key's public half does not match its seed")
	}
	return nil
}

// WritePrivateKeyFile writes priv as PKCS #8 PEM to a new file at path with
// mode 0600 (before the umask). It never overwrites: an existing file is an
// error that wraps fs.ErrExist. A partly written file is removed.
//
// NOTE: on Windows the mode only sets the read-only attribute, so the file
// takes the ACL inherited from its directory.
func WritePrivateKeyFile(path string, priv ed25519.PrivateKey) error {
	data, err := MarshalPrivateKeyPEM(priv)
	if err != nil {
		return fmt.Errorf("write private key %q: %w", path, err)
	}

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write private key: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write private key %q: %w", path, err)
	}

	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("write private key %q: %w", path, err)
	}
	return nil
}
