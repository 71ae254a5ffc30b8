package signature

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"os"
	"path/filepath"
	"testing"
)

// benchSize is the size of the file in the throughput benchmarks, about
// that of a large statically linked program.
const benchSize = 100 << 20

// benchFile writes benchSize random bytes to a file, signed by priv when it
// is not nil, and returns the open file and the bytes.
func benchFile(b *testing.B, priv ed25519.PrivateKey) (*os.File, []byte) {
	b.Helper()
	data := randomBytes(newRand(b), benchSize)
	if priv != nil {
		data = signedFile(data[:benchSize-TrailerSize], ed25519.Sign(priv, data[:benchSize-TrailerSize]))
	}
	path := filepath.Join(b.TempDir(), "program")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f, data
}

// BenchmarkSHA256InMemory is the baseline for BenchmarkHashAndVerify: plain
// crypto/sha256 over the same number of bytes already in memory.
func BenchmarkSHA256InMemory(b *testing.B) {
	_, data := benchFile(b, nil)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		sha256.Sum256(data)
	}
}

// BenchmarkSHA512InMemory shows the cost of the extra hash per signer key.
func BenchmarkSHA512InMemory(b *testing.B) {
	_, data := benchFile(b, nil)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		sha512.Sum512(data)
	}
}

// BenchmarkHashAndVerify reads the file through the page cache, as the
// daemon does for a program that was just executed.
func BenchmarkHashAndVerify(b *testing.B) {
	pub, priv := newTestKey(b, 50)
	other, _ := newTestKey(b, 51)
	third, _ := newTestKey(b, 52)

	tests := []struct {
		name   string
		signed bool
		keys   []ed25519.PublicKey
	}{
		{name: "unsigned", keys: []ed25519.PublicKey{pub}},
		{name: "signed, 1 key", signed: true, keys: []ed25519.PublicKey{pub}},
		{name: "signed, 3 keys", signed: true, keys: []ed25519.PublicKey{other, third, pub}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			signer := ed25519.PrivateKey(nil)
			if tt.signed {
				signer = priv
			}
			f, data := benchFile(b, signer)
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := HashAndVerify(f, int64(len(data)), tt.keys); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
