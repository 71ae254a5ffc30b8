package signature

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"slices"

	"filippo.io/edwards25519"
)

// errPastMessage is returned by Verifier.Write for bytes beyond the message.
var errPastMessage = errors.New("verify signature: write past the end of the signed message")

// Verifier checks a trailer's signature against candidate public keys while
// the signed message is written to it, so the message never has to be in
// memory at once.
//
// For each key A it streams k = SHA-512(R || A || M) and then accepts A when
// the encoding of [S]B - [k]A equals R. This is the check that
// crypto/ed25519.Verify performs for pure Ed25519, with the same rejections:
// an S that is not below the group order, and an A that does not decode to
// a curve point. A key that is not 32 bytes long never verifies (where
// ed25519.Verify would panic). Each distinct key costs one SHA-512 stream.
type Verifier struct {
	signature   [ed25519.SignatureSize]byte
	messageSize int64
	written     int64

	// s is the decoded S half of the signature, nil when it is not canonical
	// and therefore no key can verify.
	s          *edwards25519.Scalar
	candidates []*candidate

	finished bool
	signedBy []int
}

// candidate is one distinct usable public key and its running hash.
type candidate struct {
	minusA  *edwards25519.Point
	hash    hash.Hash
	indexes []int // positions of this key in the list given to NewVerifier
}

// NewVerifier returns a Verifier for the trailer's signature over a message
// of t.MessageSize bytes, trying each key in keys.
func NewVerifier(t Trailer, keys []ed25519.PublicKey) *Verifier {
	v := &Verifier{signature: t.Signature, messageSize: t.MessageSize}

	s, err := edwards25519.NewScalar().SetCanonicalBytes(t.Signature[32:])
	if err != nil {
		return v
	}
	v.s = s

	byKey := make(map[[ed25519.PublicKeySize]byte]*candidate)
	for i, key := range keys {
		if len(key) != ed25519.PublicKeySize {
			continue
		}
		id := [ed25519.PublicKeySize]byte(key)
		if c, ok := byKey[id]; ok {
			c.indexes = append(c.indexes, i)
			continue
		}

		a, err := new(edwards25519.Point).SetBytes(key)
		if err != nil {
			continue
		}
		c := &candidate{
			minusA:  new(edwards25519.Point).Negate(a),
			hash:    sha512.New(),
			indexes: []int{i},
		}
		// The key is hashed as given, not re-encoded, as ed25519.Verify does.
		c.hash.Write(t.Signature[:32])
		c.hash.Write(key)
		byKey[id] = c
		v.candidates = append(v.candidates, c)
	}
	return v
}

// Write feeds the next bytes of the signed message. Writing more than the
// message size stores only the bytes up to it and returns an error.
func (v *Verifier) Write(p []byte) (int, error) {
	if v.finished {
		return 0, errors.New("verify signature: write after Result")
	}

	var err error
	if remaining := v.messageSize - v.written; int64(len(p)) > remaining {
		p = p[:remaining]
		err = errPastMessage
	}

	for _, c := range v.candidates {
		c.hash.Write(p)
	}
	v.written += int64(len(p))
	return len(p), err
}

// Result returns the positions, in ascending order, of the keys given to
// NewVerifier that the signature verifies against, or none. It returns an
// error if fewer bytes than the message size were written. After the first
// call, Result returns the same result and Write fails.
func (v *Verifier) Result() ([]int, error) {
	if v.written != v.messageSize {
		return nil, fmt.Errorf("verify signature: got %d message bytes, want %d", v.written, v.messageSize)
	}
	if v.finished {
		return slices.Clone(v.signedBy), nil
	}
	v.finished = true

	for _, c := range v.candidates {
		k, err := edwards25519.NewScalar().SetUniformBytes(c.hash.Sum(nil))
		if err != nil {
			// SetUniformBytes fails only for input that is not 64 bytes.
			panic("signature: SHA-512 digest rejected as scalar input")
		}

		// [S]B = R + [k]A, rearranged as R = [k](-A) + [S]B.
		r := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(k, c.minusA, v.s)
		if bytes.Equal(r.Bytes(), v.signature[:32]) {
			v.signedBy = append(v.signedBy, c.indexes...)
		}
	}
	slices.Sort(v.signedBy)
	return slices.Clone(v.signedBy), nil
}
