package signature

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestStreamingAgreesWithStdlib signs random messages with crypto/ed25519
// and checks that Verifier and HashAndVerify accept exactly what
// ed25519.Verify accepts.
func TestStreamingAgreesWithStdlib(t *testing.T) {
	rng := newRand(t)
	signer, priv := newTestKey(t, 1)
	other, _ := newTestKey(t, 2)

	// Lengths around the SHA-512 block size and around the HashAndVerify
	// chunk size, for both the message and the whole file (message plus
	// trailer), then random lengths.
	lengths := []int{0, 1, 31, 32, 63, 64, 65, 111, 112, 127, 128, 129, 255, 256, 4095, 4096, 4097}
	for _, edge := range []int{chunkSize, 2 * chunkSize} {
		for delta := -2; delta <= 2; delta++ {
			lengths = append(lengths, edge+delta, edge-TrailerSize+delta)
		}
	}
	for range 40 {
		lengths = append(lengths, rng.IntN(3*chunkSize))
	}

	for _, n := range lengths {
		message := randomBytes(rng, n)
		sig := ed25519.Sign(priv, message)

		badSig := bytes.Clone(sig)
		badSig[rng.IntN(len(badSig))] ^= 1 << rng.IntN(8)

		badMessage := bytes.Clone(message)
		if n > 0 {
			badMessage[rng.IntN(n)] ^= 1 << rng.IntN(8)
		}

		tests := []struct {
			name    string
			message []byte
			sig     []byte
			keys    []ed25519.PublicKey
		}{
			{name: "valid", message: message, sig: sig, keys: []ed25519.PublicKey{signer}},
			{name: "corrupted signature", message: message, sig: badSig, keys: []ed25519.PublicKey{signer}},
			{name: "corrupted message", message: badMessage, sig: sig, keys: []ed25519.PublicKey{signer}},
			{name: "wrong key", message: message, sig: sig, keys: []ed25519.PublicKey{other}},
			{name: "several keys", message: message, sig: sig, keys: []ed25519.PublicKey{other, signer, other, signer}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%d bytes/%s", n, tt.name), func(t *testing.T) {
				want := wantSignedBy(tt.keys, tt.message, tt.sig)
				if tt.name == "valid" && len(want) != 1 {
					t.Fatalf("ed25519.Verify rejected a fresh signature")
				}

				got := streamVerify(t, rng, tt.message, tt.sig, tt.keys)
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("Verifier result mismatch (-ed25519.Verify +Verifier):\n%s", diff)
				}

				file := signedFile(tt.message, tt.sig)
				sum, signedBy, err := HashAndVerify(bytes.NewReader(file), int64(len(file)), tt.keys)
				if err != nil {
					t.Fatalf("HashAndVerify() error = %v", err)
				}
				if wantSum := sha256.Sum256(file); sum != wantSum {
					t.Errorf("HashAndVerify() sha256 = %x; want %x", sum, wantSum)
				}
				if diff := cmp.Diff(want, signedBy, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("HashAndVerify() signers mismatch (-ed25519.Verify +HashAndVerify):\n%s", diff)
				}
			})
		}
	}
}

// TestVerifierEdgeCases covers encodings that a random corruption is
// unlikely to hit: non-canonical S, keys that are not points, small-order
// and non-canonical keys.
func TestVerifierEdgeCases(t *testing.T) {
	signer, priv := newTestKey(t, 3)
	message := []byte("edge cases of Ed25519 verification")
	sig := ed25519.Sign(priv, message)

	// l is the order of the prime-order subgroup, little-endian.
	l := mustHex(t, "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
	identity := mustHex(t, "0100000000000000000000000000000000000000000000000000000000000000")
	// y = p + 1 is a non-canonical encoding of the identity's y = 1.
	identityNonCanonical := mustHex(t, "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	// y = 2 has no x on the curve, so this key does not decode.
	notAPoint := mustHex(t, "0200000000000000000000000000000000000000000000000000000000000000")
	zeroS := make([]byte, 32)

	tests := []struct {
		name       string
		sig        []byte
		keys       []ed25519.PublicKey
		wantAccept bool
	}{
		{name: "valid", sig: sig, keys: []ed25519.PublicKey{signer}, wantAccept: true},
		{name: "S plus l", sig: append(bytes.Clone(sig[:32]), addLE(sig[32:], l)...), keys: []ed25519.PublicKey{signer}},
		{name: "S equal to l", sig: append(bytes.Clone(sig[:32]), l...), keys: []ed25519.PublicKey{signer}},
		{name: "S with top bits set", sig: append(bytes.Clone(sig[:63]), sig[63]|0xe0), keys: []ed25519.PublicKey{signer}},
		{name: "key not a point", sig: sig, keys: []ed25519.PublicKey{notAPoint}},
		{name: "key too short", sig: sig, keys: []ed25519.PublicKey{signer[:31]}},
		{name: "key too short beside valid key", sig: sig, keys: []ed25519.PublicKey{signer[:31], signer}, wantAccept: true},
		{name: "identity key and identity R", sig: append(bytes.Clone(identity), zeroS...), keys: []ed25519.PublicKey{identity}, wantAccept: true},
		{name: "non-canonical identity key", sig: append(bytes.Clone(identity), zeroS...), keys: []ed25519.PublicKey{identityNonCanonical}, wantAccept: true},
		{name: "non-canonical R", sig: append(bytes.Clone(identityNonCanonical), zeroS...), keys: []ed25519.PublicKey{identity}},
		{name: "no keys", sig: sig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := wantSignedBy(tt.keys, message, tt.sig)
			if gotAccept := len(want) > 0; gotAccept != tt.wantAccept {
				t.Fatalf("ed25519.Verify accepted = %v; the case expects %v", gotAccept, tt.wantAccept)
			}

			got := streamVerify(t, newRand(t), message, tt.sig, tt.keys)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Verifier result mismatch (-ed25519.Verify +Verifier):\n%s", diff)
			}
		})
	}
}

func TestVerifierMessageSize(t *testing.T) {
	_, priv := newTestKey(t, 4)
	pub := priv.Public().(ed25519.PublicKey)
	message := []byte("twelve bytes")
	trailer := Trailer{MessageSize: int64(len(message))}
	copy(trailer.Signature[:], ed25519.Sign(priv, message))

	t.Run("short write", func(t *testing.T) {
		v := NewVerifier(trailer, []ed25519.PublicKey{pub})
		v.Write(message[:5])
		if got, err := v.Result(); err == nil {
			t.Errorf("Result() after 5 of 12 bytes = %v, nil; want error", got)
		}
	})

	t.Run("write past end", func(t *testing.T) {
		v := NewVerifier(trailer, []ed25519.PublicKey{pub})
		n, err := v.Write(append(bytes.Clone(message), "extra"...))
		if n != len(message) || !errors.Is(err, errPastMessage) {
			t.Errorf("Write(17 bytes) = %d, %v; want %d, %v", n, err, len(message), errPastMessage)
		}
		got, err := v.Result()
		if err != nil || !cmp.Equal(got, []int{0}) {
			t.Errorf("Result() = %v, %v; want [0], nil", got, err)
		}
	})

	t.Run("result twice", func(t *testing.T) {
		v := NewVerifier(trailer, []ed25519.PublicKey{pub})
		v.Write(message)
		first, _ := v.Result()
		second, err := v.Result()
		if err != nil || !cmp.Equal(first, second) {
			t.Errorf("second Result() = %v, %v; want %v, nil", second, err, first)
		}
		if _, err := v.Write([]byte{0}); err == nil {
			t.Errorf("Write after Result() error = nil; want error")
		}
	})
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// addLE returns a + b for little-endian numbers of equal length, dropping
// any final carry.
func addLE(a, b []byte) []byte {
	sum := make([]byte, len(a))
	carry := 0
	for i := range a {
		v := int(a[i]) + int(b[i]) + carry
		sum[i] = byte(v)
		carry = v >> 8
	}
	return sum
}
