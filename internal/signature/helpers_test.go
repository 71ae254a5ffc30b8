package signature

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// newTestKey returns the key pair derived from a seed filled with b, so
// failures reproduce.
func newTestKey(t testing.TB, b byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

// newRand returns a deterministic generator seeded from the test name.
func newRand(t testing.TB) *rand.Rand {
	t.Helper()
	return rand.New(rand.NewChaCha8(sha256.Sum256([]byte(t.Name()))))
}

// randomBytes returns n bytes from rng.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// signedFile returns message followed by a KCAS trailer carrying sig.
func signedFile(message, sig []byte) []byte {
	out := bytes.Clone(message)
	out = append(out, sig...)
	return append(out, Magic...)
}

// wantSignedBy returns the positions of the keys that ed25519.Verify
// accepts, the reference the streaming code must agree with.
func wantSignedBy(keys []ed25519.PublicKey, message, sig []byte) []int {
	var want []int
	for i, key := range keys {
		// ed25519.Verify panics on a key of the wrong length.
		if len(key) == ed25519.PublicKeySize && ed25519.Verify(key, message, sig) {
			want = append(want, i)
		}
	}
	return want
}

// streamVerify feeds message to a Verifier in pieces of random size and
// returns its result.
func streamVerify(t *testing.T, rng *rand.Rand, message, sig []byte, keys []ed25519.PublicKey) []int {
	t.Helper()
	trailer := Trailer{MessageSize: int64(len(message))}
	copy(trailer.Signature[:], sig)
	v := NewVerifier(trailer, keys)

	for rest := message; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(3*chunkSize/2))
		if written, err := v.Write(rest[:n]); err != nil || written != n {
			t.Fatalf("Verifier.Write(%d bytes) = %d, %v; want %d, nil", n, written, err, n)
		}
		rest = rest[n:]
	}

	got, err := v.Result()
	if err != nil {
		t.Fatalf("Verifier.Result() error = %v", err)
	}
	return got
}
