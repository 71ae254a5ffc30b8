package signature

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestParsePublicKey(t *testing.T) {
	pub, priv := newTestKey(t, 9)
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := MarshalPublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		input string
	}{
		{name: "raw base64", input: EncodePublicKey(pub)},
		{name: "raw base64 with newline", input: EncodePublicKey(pub) + "\n"},
		{name: "DER base64", input: base64.StdEncoding.EncodeToString(der)},
		{name: "PEM", input: string(pemKey)},
		{name: "PEM with surrounding whitespace", input: "\n  " + string(pemKey) + "\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublicKey(tt.input)
			if err != nil {
				t.Fatalf("ParsePublicKey() error = %v", err)
			}
			if !pub.Equal(got) {
				t.Errorf("ParsePublicKey() = %x; want %x", got, pub)
			}
		})
	}

	// Every secret-bearing input below must not leak into the error.
	privPEM, err := MarshalPrivateKeyPEM(priv)
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	notAPoint := append([]byte{2}, make([]byte, 31)...)
	identity := append([]byte{1}, make([]byte, 31)...)
	// y = 0 gives the two points of order 4.
	orderFour := make([]byte, 32)
	// y = p + 1 encodes the identity's y = 1 non-canonically, and the
	// encoding check comes before the order check.
	nonCanonical := mustHex(t, "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")

	bad := []struct {
		name    string
		input   string
		wantErr string
	}{
		{name: "empty", input: "  \n", wantErr: "empty input"},
		{name: "not base64", input: "not base64!", wantErr: "invalid base64"},
		{name: "unpadded base64", input: strings.TrimRight(EncodePublicKey(pub), "="), wantErr: "invalid base64"},
		{name: "31 bytes", input: base64.StdEncoding.EncodeToString(pub[:31]), wantErr: "DER SubjectPublicKeyInfo"},
		{name: "33 bytes", input: base64.StdEncoding.EncodeToString(append(bytes.Clone(pub), 0)), wantErr: "DER SubjectPublicKeyInfo"},
		{name: "not a curve point", input: base64.StdEncoding.EncodeToString(notAPoint), wantErr: "not a valid Ed25519 curve point"},
		{name: "identity point", input: base64.StdEncoding.EncodeToString(identity), wantErr: "small-order point"},
		{name: "point of order 4", input: base64.StdEncoding.EncodeToString(orderFour), wantErr: "small-order point"},
		{name: "non-canonical encoding", input: base64.StdEncoding.EncodeToString(nonCanonical), wantErr: "not canonically encoded"},
		{name: "ECDSA key", input: base64.StdEncoding.EncodeToString(ecDER), wantErr: "want Ed25519"},
		{name: "private key PEM", input: string(privPEM), wantErr: `"PRIVATE KEY"; give the public key`},
		{name: "private key DER base64", input: base64.StdEncoding.EncodeToString(privDER), wantErr: "private key; give the public key"},
		{name: "raw private key base64", input: base64.StdEncoding.EncodeToString(priv), wantErr: "DER SubjectPublicKeyInfo"},
		{name: "OpenSSH key", input: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA user@host", wantErr: "ssh-keygen -e -m PKCS8"},
		{name: "wrong PEM type", input: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), wantErr: `"CERTIFICATE"`},
		{name: "broken PEM", input: "-----BEGIN PUBLIC KEY-----\nAAAA", wantErr: "invalid PEM block"},
		{name: "data after PEM", input: string(pemKey) + "trailing", wantErr: "after the PEM block"},
	}
	// The PEM body is the base64 of privDER, so these cover every input.
	secrets := []string{
		base64.StdEncoding.EncodeToString(privDER),
		base64.StdEncoding.EncodeToString(priv),
		base64.StdEncoding.EncodeToString(priv.Seed()),
		hex.EncodeToString(priv.Seed()),
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublicKey(tt.input)
			if err == nil {
				t.Fatalf("ParsePublicKey() = %x, nil; want error", got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePublicKey() error = %q; want it to contain %q", err, tt.wantErr)
			}
			for _, secret := range secrets {
				if middle := secret[len(secret)/2-8 : len(secret)/2+8]; strings.Contains(err.Error(), middle) {
					t.Errorf("ParsePublicKey() error %q quotes private key material", err)
				}
			}
		})
	}
}

func TestPrivateKeyPEMRoundTrip(t *testing.T) {
	pub, priv := GenerateKey()
	data, err := MarshalPrivateKeyPEM(priv)
	if err != nil {
		t.Fatalf("MarshalPrivateKeyPEM() error = %v", err)
	}
	if block, _ := pem.Decode(data); block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("MarshalPrivateKeyPEM() output is not a PRIVATE KEY block:\n%s", data)
	}

	got, err := ParsePrivateKeyPEM(data)
	if err != nil {
		t.Fatalf("ParsePrivateKeyPEM() error = %v", err)
	}
	if !priv.Equal(got) {
		t.Errorf("ParsePrivateKeyPEM() returned a different key")
	}
	if !pub.Equal(got.Public()) {
		t.Errorf("ParsePrivateKeyPEM() public half = %x; want %x", got.Public(), pub)
	}
}

func TestParsePrivateKeyPEMErrors(t *testing.T) {
	pub, priv := newTestKey(t, 10)
	pubPEM, err := MarshalPublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	privPEM, err := MarshalPrivateKeyPEM(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(privPEM)
	truncated := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: block.Bytes[:len(block.Bytes)-3]})
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		input   []byte
		wantErr string
	}{
		{name: "no PEM", input: []byte("hello"), wantErr: "no PEM block"},
		{name: "public key", input: pubPEM, wantErr: `"PUBLIC KEY"`},
		{name: "OpenSSH private key", input: pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte("x")}), wantErr: `"OPENSSH PRIVATE KEY"`},
		{name: "truncated PKCS #8", input: truncated, wantErr: "invalid PKCS #8 data"},
		{name: "ECDSA key", input: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), wantErr: "want Ed25519"},
		{name: "data after PEM", input: append(bytes.Clone(privPEM), "more"...), wantErr: "after the PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrivateKeyPEM(tt.input)
			if err == nil {
				t.Fatalf("ParsePrivateKeyPEM() error = nil; want one containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePrivateKeyPEM() error = %q; want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestMarshalPrivateKeyPEMRejectsMismatchedKey(t *testing.T) {
	_, priv := newTestKey(t, 11)
	other, _ := newTestKey(t, 12)
	mixed := append(bytes.Clone(priv.Seed()), other...)

	if _, err := MarshalPrivateKeyPEM(mixed); err == nil {
		t.Errorf("MarshalPrivateKeyPEM(seed of one key, public half of another) error = nil; want error")
	}
	if _, err := MarshalPrivateKeyPEM(priv[:40]); err == nil {
		t.Errorf("MarshalPrivateKeyPEM(40 bytes) error = nil; want error")
	}
}

func TestWritePrivateKeyFile(t *testing.T) {
	_, priv := newTestKey(t, 13)
	path := filepath.Join(t.TempDir(), "signing-key.pem")

	if err := WritePrivateKeyFile(path, priv); err != nil {
		t.Fatalf("WritePrivateKeyFile() error = %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v; want 0600", info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePrivateKeyPEM(data)
	if err != nil || !priv.Equal(got) {
		t.Errorf("ParsePrivateKeyPEM(written file) = _, %v; want the written key", err)
	}

	_, other := newTestKey(t, 14)
	err = WritePrivateKeyFile(path, other)
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("WritePrivateKeyFile(existing path) error = %v; want one wrapping fs.ErrExist", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, data) {
		t.Errorf("WritePrivateKeyFile(existing path) changed the existing file")
	}
}

func TestWritePrivateKeyFileRejectsSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need extra privileges on Windows")
	}
	_, priv := newTestKey(t, 15)
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	link := filepath.Join(dir, "link.pem")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}

	if err := WritePrivateKeyFile(link, priv); !errors.Is(err, fs.ErrExist) {
		t.Errorf("WritePrivateKeyFile(dangling symlink) error = %v; want one wrapping fs.ErrExist", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WritePrivateKeyFile(dangling symlink) created the link target")
	}
}
