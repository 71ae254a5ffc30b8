package signature

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestHashAndVerify(t *testing.T) {
	rng := newRand(t)
	pub, priv := newTestKey(t, 5)
	other, _ := newTestKey(t, 6)

	message := randomBytes(rng, 3*chunkSize+17)
	signed := signedFile(message, ed25519.Sign(priv, message))
	magicOnly := append(make([]byte, ed25519.SignatureSize), Magic...)

	tests := []struct {
		name         string
		file         []byte
		keys         []ed25519.PublicKey
		wantSignedBy []int
	}{
		{name: "empty file", file: nil, keys: []ed25519.PublicKey{pub}},
		{name: "short file ending in magic", file: []byte("xKCAS"), keys: []ed25519.PublicKey{pub}},
		{name: "unsigned file", file: message, keys: []ed25519.PublicKey{pub}},
		{name: "signed file", file: signed, keys: []ed25519.PublicKey{other, pub}, wantSignedBy: []int{1}},
		{name: "signed file, no keys", file: signed},
		{name: "signed file, wrong key", file: signed, keys: []ed25519.PublicKey{other}},
		{name: "zero signature over empty message", file: magicOnly, keys: []ed25519.PublicKey{pub}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, signedBy, err := HashAndVerify(bytes.NewReader(tt.file), int64(len(tt.file)), tt.keys)
			if err != nil {
				t.Fatalf("HashAndVerify() error = %v", err)
			}
			if want := sha256.Sum256(tt.file); sum != want {
				t.Errorf("HashAndVerify() sha256 = %x; want %x", sum, want)
			}
			if diff := cmp.Diff(tt.wantSignedBy, signedBy, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("HashAndVerify() signers mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// failingReaderAt returns err with any read that reaches failAt.
type failingReaderAt struct {
	data   []byte
	failAt int64
	err    error
}

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) >= f.failAt {
		n := copy(p, f.data[off:max(off, f.failAt)])
		return n, f.err
	}
	return copy(p, f.data[off:]), nil
}

func TestHashAndVerifyErrors(t *testing.T) {
	pub, priv := newTestKey(t, 7)
	message := randomBytes(newRand(t), 2*chunkSize)
	signed := signedFile(message, ed25519.Sign(priv, message))
	errDisk := errors.New("disk on fire")

	tests := []struct {
		name    string
		reader  io.ReaderAt
		size    int64
		wantErr error
	}{
		{name: "negative size", reader: bytes.NewReader(nil), size: -1},
		{name: "size past end", reader: bytes.NewReader(signed[:1000]), size: 2000, wantErr: io.ErrUnexpectedEOF},
		{name: "trailer read fails", reader: failingReaderAt{data: signed, failAt: 0, err: errDisk}, size: int64(len(signed)), wantErr: errDisk},
		{name: "body read fails", reader: failingReaderAt{data: signed, failAt: chunkSize + 5, err: errDisk}, size: chunkSize + 5 + 100, wantErr: errDisk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, signedBy, err := HashAndVerify(tt.reader, tt.size, []ed25519.PublicKey{pub})
			if err == nil {
				t.Fatalf("HashAndVerify() = %v, nil; want error", signedBy)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("HashAndVerify() error = %v; want one wrapping %v", err, tt.wantErr)
			}
		})
	}
}

// TestHashAndVerifyFullReadWithEOF checks that a reader returning io.EOF
// together with the final bytes, as io.ReaderAt allows, is not an error.
func TestHashAndVerifyFullReadWithEOF(t *testing.T) {
	pub, priv := newTestKey(t, 8)
	message := randomBytes(newRand(t), chunkSize+3)
	signed := signedFile(message, ed25519.Sign(priv, message))
	reader := failingReaderAt{data: signed, failAt: int64(len(signed)), err: io.EOF}

	_, signedBy, err := HashAndVerify(reader, int64(len(signed)), []ed25519.PublicKey{pub})
	if err != nil || !cmp.Equal(signedBy, []int{0}) {
		t.Errorf("HashAndVerify() = %v, %v; want [0], nil", signedBy, err)
	}
}
