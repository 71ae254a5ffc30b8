package signature

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzReadTrailer checks ReadTrailer against the format, and HashAndVerify
// against sha256.Sum256 and ed25519.Verify, for arbitrary file contents.
// The seeds in testdata/fuzz/FuzzReadTrailer include files signed by the
// key from newTestKey(t, 40), so the accepting path is reached too.
func FuzzReadTrailer(f *testing.F) {
	signer, _ := newTestKey(f, 40)

	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		trailer, ok, err := ReadTrailer(bytes.NewReader(data), size)
		if err != nil {
			t.Fatalf("ReadTrailer() error = %v", err)
		}

		wantOK := len(data) >= TrailerSize && bytes.HasSuffix(data, []byte(Magic))
		if ok != wantOK {
			t.Fatalf("ReadTrailer() ok = %v; want %v", ok, wantOK)
		}
		if ok {
			if trailer.MessageSize != size-TrailerSize {
				t.Errorf("ReadTrailer() MessageSize = %d; want %d", trailer.MessageSize, size-TrailerSize)
			}
			if !bytes.Equal(trailer.Signature[:], data[size-TrailerSize:size-4]) {
				t.Errorf("ReadTrailer() Signature = %x; want the 64 bytes before the magic", trailer.Signature)
			}
		}

		// The second key is taken from the input, so the fuzzer also
		// reaches keys that are not curve points or have small order.
		keys := []ed25519.PublicKey{signer}
		if len(data) >= ed25519.PublicKeySize {
			keys = append(keys, ed25519.PublicKey(data[:ed25519.PublicKeySize]))
		}
		sum, signedBy, err := HashAndVerify(bytes.NewReader(data), size, keys)
		if err != nil {
			t.Fatalf("HashAndVerify() error = %v", err)
		}
		if want := sha256.Sum256(data); sum != want {
			t.Errorf("HashAndVerify() sha256 = %x; want %x", sum, want)
		}
		var want []int
		if ok {
			want = wantSignedBy(keys, data[:trailer.MessageSize], trailer.Signature[:])
		}
		if diff := cmp.Diff(want, signedBy, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("HashAndVerify() signers mismatch (-ed25519.Verify +HashAndVerify):\n%s", diff)
		}
	})
}

// FuzzParsePublicKey checks that ParsePublicKey never panics and that an
// accepted key re-encodes, in every supported form, to the same 32 bytes.
func FuzzParsePublicKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, input string) {
		key, err := ParsePublicKey(input)
		if err != nil {
			return
		}
		if len(key) != ed25519.PublicKeySize {
			t.Fatalf("ParsePublicKey() returned %d bytes; want %d", len(key), ed25519.PublicKeySize)
		}

		if got, err := ParsePublicKey(EncodePublicKey(key)); err != nil || !key.Equal(got) {
			t.Errorf("ParsePublicKey(EncodePublicKey(%x)) = %x, %v; want the same key", key, got, err)
		}
		pemKey, err := MarshalPublicKeyPEM(key)
		if err != nil {
			t.Fatalf("MarshalPublicKeyPEM(%x) error = %v", key, err)
		}
		if got, err := ParsePublicKey(string(pemKey)); err != nil || !key.Equal(got) {
			t.Errorf("ParsePublicKey(MarshalPublicKeyPEM(%x)) = %x, %v; want the same key", key, got, err)
		}
	})
}
