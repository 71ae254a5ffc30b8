package signature

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The shell steps below appear verbatim in docs/SIGNING.md, and
// TestOpenSSLSteps runs them, so the documented CI recipe is known to work
// with the openssl on the test machine.
const (
	opensslKeygenSteps = `openssl genpkey -algorithm ed25519 -out signing-key.pem
openssl pkey -in signing-key.pem -pubout -out signing-key.pub.pem
openssl pkey -pubin -in signing-key.pub.pem -outform DER | tail -c 32 | base64 > signing-key.pub.b64
`
	opensslSignSteps = `openssl pkeyutl -sign -rawin -inkey signing-key.pem -in mytool -out mytool.sig
cat mytool.sig >> mytool
printf 'KCAS' >> mytool
rm mytool.sig
`
	opensslVerifySteps = `size=$(wc -c < mytool)
head -c $((size - 68)) mytool > mytool.message
tail -c 68 mytool | head -c 64 > mytool.sig
openssl pkeyutl -verify -rawin -pubin -inkey signing-key.pub.pem -in mytool.message -sigfile mytool.sig
`
)

func TestOpenSSLStepsInDocs(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "SIGNING.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name, steps := range map[string]string{"keygen": opensslKeygenSteps, "sign": opensslSignSteps, "verify": opensslVerifySteps} {
		if !bytes.Contains(doc, []byte(steps)) {
			t.Errorf("docs/SIGNING.md does not contain the tested openssl %s steps:\n%s", name, steps)
		}
	}
}

// shellCommand returns a command that runs script with sh -e in dir, with
// HOME pointing at dir.
func shellCommand(dir, script string) *exec.Cmd {
	cmd := exec.Command("sh", "-e", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	return cmd
}

// runShell runs script with sh in dir and fails the test on error.
func runShell(t *testing.T, dir, script string) string {
	t.Helper()
	out, err := shellCommand(dir, script).CombinedOutput()
	if err != nil {
		t.Fatalf("sh -c %q: %v\n%s", script, err, out)
	}
	return string(out)
}

func TestOpenSSLSteps(t *testing.T) {
	for _, tool := range []string{"sh", "openssl", "base64", "tail", "head", "wc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: %v", tool, err)
		}
	}
	dir := t.TempDir()
	program := randomBytes(newRand(t), 100_000)
	programPath := filepath.Join(dir, "mytool")
	if err := os.WriteFile(programPath, program, 0o755); err != nil {
		t.Fatal(err)
	}

	runShell(t, dir, opensslKeygenSteps)

	privPEM, err := os.ReadFile(filepath.Join(dir, "signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParsePrivateKeyPEM(privPEM)
	if err != nil {
		t.Fatalf("ParsePrivateKeyPEM(openssl genpkey output) error = %v", err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	for _, name := range []string{"signing-key.pub.pem", "signing-key.pub.b64"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParsePublicKey(string(data))
		if err != nil {
			t.Fatalf("ParsePublicKey(%s) error = %v", name, err)
		}
		if !pub.Equal(got) {
			t.Errorf("ParsePublicKey(%s) = %x; want %x", name, got, pub)
		}
	}
	b64, _ := os.ReadFile(filepath.Join(dir, "signing-key.pub.b64"))
	if got, want := strings.TrimSpace(string(b64)), EncodePublicKey(pub); got != want {
		t.Errorf("signing-key.pub.b64 = %q; want EncodePublicKey() = %q", got, want)
	}

	t.Run("openssl signs, package verifies", func(t *testing.T) {
		runShell(t, dir, opensslSignSteps)
		if err := VerifyFile(pub, programPath); err != nil {
			t.Errorf("VerifyFile(openssl-signed file) error = %v", err)
		}
		// Ed25519 signatures are deterministic, so openssl and Sign agree.
		want := signedFile(program, ed25519.Sign(priv, program))
		if got := readFile(t, programPath); !bytes.Equal(got, want) {
			t.Errorf("openssl-signed file is %d bytes and differs from ed25519.Sign's", len(got))
		}
	})

	t.Run("package signs, openssl verifies", func(t *testing.T) {
		if err := os.WriteFile(programPath, program, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := Sign(priv, programPath); err != nil {
			t.Fatalf("Sign() error = %v", err)
		}
		if out := runShell(t, dir, opensslVerifySteps); !strings.Contains(out, "Signature Verified Successfully") {
			t.Errorf("openssl verify output = %q; want success", out)
		}
	})

	t.Run("openssl rejects tampered file", func(t *testing.T) {
		signed := readFile(t, programPath)
		signed[10] ^= 1
		if err := os.WriteFile(programPath, signed, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := shellCommand(dir, opensslVerifySteps).CombinedOutput(); err == nil {
			t.Errorf("openssl verified a tampered file:\n%s", out)
		}
	})
}
