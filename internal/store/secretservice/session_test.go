package secretservice

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"testing"
)

// randReader adapts crypto/rand for newDHKeyPair.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return rand.Read(p) }

// sharedSecret recomputes the minimal big-endian shared secret of a key pair
// and a service public key.
func sharedSecret(kp dhKeyPair, servicePublic []byte) []byte {
	y := new(big.Int).SetBytes(servicePublic)
	return new(big.Int).Exp(y, kp.private, modp1024()).Bytes()
}

func TestKeyAgreementBothSides(t *testing.T) {
	a, err := newDHKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newDHKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ka, err := a.sessionKey(b.public.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	kb, err := b.sessionKey(a.public.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ka, kb) || len(ka) != 16 {
		t.Errorf("session keys differ or are not 16 bytes: %d and %d bytes", len(ka), len(kb))
	}
}

func TestSessionKeyRejectsWeakPublicKeys(t *testing.T) {
	kp, err := newDHKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pMinus1 := new(big.Int).Sub(modp1024(), big.NewInt(1))
	tests := []struct {
		name   string
		public []byte
	}{
		{name: "Zero", public: nil},
		{name: "One", public: []byte{1}},
		{name: "PMinusOne", public: pMinus1.Bytes()},
		{name: "P", public: modp1024().Bytes()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := kp.sessionKey(tt.public); err == nil {
				t.Errorf("sessionKey(%s) = nil error; want an out-of-range error", tt.name)
			}
		})
	}
}

func TestTransportCipherRoundTrip(t *testing.T) {
	key := make([]byte, 16)
	rand.Read(key)
	for _, tc := range []struct {
		name   string
		cipher transportCipher
	}{
		{name: "AES", cipher: transportCipher{key: key}},
		{name: "Plain", cipher: transportCipher{}},
	} {
		for _, size := range []int{0, 1, 15, 16, 17, 4096} {
			plain := bytes.Repeat([]byte{0xA5}, size)
			params, value, err := tc.cipher.seal(plain)
			if err != nil {
				t.Fatalf("%s seal(%d bytes) = %v", tc.name, size, err)
			}
			// A short plaintext appears in random ciphertext by chance (one
			// byte in 16 about 6% of the time), so only longer ones are checked.
			if tc.cipher.key != nil && bytes.Contains(value, plain) && size >= 8 {
				t.Errorf("%s seal(%d bytes) left the plaintext visible", tc.name, size)
			}
			got, err := tc.cipher.open(params, value)
			if err != nil || !bytes.Equal(got, plain) {
				t.Errorf("%s open(seal(%d bytes)) = %d bytes, %v; want the input back", tc.name, size, len(got), err)
			}
		}
	}
}

func TestTransportCipherRejectsMalformed(t *testing.T) {
	key := make([]byte, 16)
	c := transportCipher{key: key}
	iv, value, err := c.seal([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	badPad := append([]byte{}, value...)
	badPad[len(badPad)-1] ^= 0xFF
	tests := []struct {
		name   string
		params []byte
		value  []byte
	}{
		{name: "ShortIV", params: iv[:8], value: value},
		{name: "Empty", params: iv, value: nil},
		{name: "PartialBlock", params: iv, value: value[:15]},
		{name: "BadPadding", params: iv, value: badPad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.open(tt.params, tt.value)
			if err == nil {
				t.Errorf("open(%s) = %q, nil; want an error", tt.name, got)
			}
		})
	}
}
