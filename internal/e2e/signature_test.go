//go:build linux

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// signingKey creates a key pair and returns the private key path and the
// base64 public key.
func (e *env) signingKey(name string) (string, string) {
	e.t.Helper()
	priv := filepath.Join(e.dir, name+".pem")
	out := e.mustCLI("keygen", priv)
	m := regexp.MustCompile(`Public key: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		e.t.Fatalf("keygen printed no public key:\n%s", out)
	}
	return priv, m[1]
}

// editFile applies fn to the bytes of path.
func editFile(t *testing.T, path string, fn func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(data), 0o755); err != nil {
		t.Fatal(err)
	}
}

// rebuild changes a string constant in the client binary, as a new build
// would, without breaking it.
func rebuild(t *testing.T, path, marker string) {
	t.Helper()
	editFile(t, path, func(b []byte) []byte {
		old := []byte("kaclient: dial:")
		if !bytes.Contains(b, old) {
			t.Fatalf("marker string not found in %s", path)
		}
		return bytes.Replace(b, old, []byte("kaclient: "+marker[:4]+":"), 1)
	})
}

func TestSignedBinaries(t *testing.T) {
	e := newEnv(t)
	e.start()
	priv, pub := e.signingKey("trusted")
	e.mustCLI("trust", pub, "--service", "a")
	otherPriv, _ := e.signingKey("unknown")

	writeA := `{"type":"REQUEST","action":"write","service":"a","targets":["k"],"values":["v"]}`
	searchA := `{"type":"REQUEST","action":"search","service":"a"}`
	readB := req("read", "b", "k")

	t.Run("trusted signer gets its service only", func(t *testing.T) {
		p := e.copyClient("signed-tool")
		e.mustCLI("sign", "--key", priv, p)
		if out := e.mustCLI("verify", "--key", pub, p); !strings.Contains(out, "is signed by "+pub) {
			t.Errorf("verify printed %q", out)
		}
		got := e.run(p, []string{writeA, searchA, readB})
		want := []string{okEmpty, `{"type":"RESPONSE","status":"success","results":[{"target":"k"}]}`, deniedSvc}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("responses:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}

		// A later grant survives a rebuild signed by the same key.
		e.mustCLI("grant", p, "--read", "b")
		rebuild(t, p, "second")
		e.mustCLI("sign", "--key", priv, p)
		got = e.run(p, []string{readB, writeA})
		if strings.Join(got, "\n") != okEmpty+"\n"+okEmpty {
			t.Errorf("rebuilt signed binary got %q; want success for b (granted) and a (signer)", got)
		}
		if out := e.mustCLI("list"); strings.Count(out, "Path:    "+p+"\n") != 1 {
			t.Errorf("rebuild created a second entry instead of updating the hash:\n%s", out)
		}

		audit := e.mustCLI("audit", "--binary", p, "--json")
		if !strings.Contains(audit, `"verified_by":"signature"`) || !strings.Contains(audit, `"signer":"`+pub+`"`) {
			t.Errorf("audit records do not name the signature and signer:\n%s", audit)
		}
	})

	unregistered := []struct {
		name  string
		build func(p string)
	}{
		{"unknown key", func(p string) { e.mustCLI("sign", "--key", otherPriv, p) }},
		{"corrupted signature", func(p string) {
			e.mustCLI("sign", "--key", priv, p)
			editFile(t, p, func(b []byte) []byte { b[len(b)-10] ^= 0xFF; return b })
		}},
		{"trailer cut short", func(p string) {
			e.mustCLI("sign", "--key", priv, p)
			editFile(t, p, func(b []byte) []byte { return append(b[:len(b)-5], "KCAS"...) })
		}},
		{"valid trailer on a modified body", func(p string) {
			e.mustCLI("sign", "--key", priv, p)
			rebuild(t, p, "tampered")
		}},
	}
	for _, tt := range unregistered {
		t.Run(tt.name, func(t *testing.T) {
			p := e.copyClient(strings.ReplaceAll(tt.name, " ", "-"))
			tt.build(p)
			if got := e.run(p, []string{writeA}); len(got) < 1 || got[0] != deniedPend {
				t.Errorf("got %q; want the unregistered denial", got)
			}
		})
	}

	t.Run("no takeover of a hash-approved entry", func(t *testing.T) {
		p := e.registerClient("hash-approved", "--read", "b")
		rebuild(t, p, "signedover")
		e.mustCLI("sign", "--key", priv, p)
		if got := e.run(p, []string{writeA}); len(got) < 1 || got[0] != deniedPend {
			t.Errorf("signed build over a hash-approved entry got %q; want the unregistered denial", got)
		}
		var entries []struct {
			Path   string   `json:"path"`
			Signer string   `json:"signer"`
			Read   []string `json:"allowed_read_services"`
		}
		if err := json.Unmarshal([]byte(e.mustCLI("list", "--json")), &entries); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, en := range entries {
			if en.Path != p {
				continue
			}
			n++
			if en.Signer != "" || len(en.Read) != 1 || en.Read[0] != "b" {
				t.Errorf("the signature changed the hash-approved entry: %+v", en)
			}
		}
		if n != 1 {
			t.Errorf("%d entries at %s; want the original one only", n, p)
		}
	})

	t.Run("untrusting a key revokes its binaries", func(t *testing.T) {
		p := e.copyClient("revoked-signer")
		e.mustCLI("sign", "--key", priv, p)
		s := e.open(p)
		if got := s.do(writeA); got != okEmpty {
			t.Fatalf("signed binary got %s; want success", got)
		}
		e.mustCLI("trust", "--remove", pub)
		if got := s.do(writeA); got != deniedSvc {
			t.Errorf("after untrust on the open connection got %s; want %s", got, deniedSvc)
		}
		e.mustCLI("trust", pub, "--service", "a")
	})
}

// TestSignerEntriesBounded runs hard links of one signed binary, each a new
// path: the signer gets at most 64 entries, so copies cannot grow
// config.json without bound.
func TestSignerEntriesBounded(t *testing.T) {
	e := newEnv(t)
	e.start()
	priv, pub := e.signingKey("prolific")
	e.mustCLI("trust", pub, "--service", "cap")
	original := e.copyClient("signed-original")
	e.mustCLI("sign", "--key", priv, original)

	const maxEntries = 64
	write := `{"type":"REQUEST","action":"write","service":"cap","targets":["k"],"values":["v"]}`
	for i := range maxEntries + 1 {
		link := filepath.Join(e.dir, "bin", fmt.Sprintf("link-%02d", i))
		if err := os.Link(original, link); err != nil {
			t.Fatal(err)
		}
		got := e.run(link, []string{write})
		want := okEmpty
		if i >= maxEntries {
			want = deniedPend
		}
		if len(got) < 1 || got[0] != want {
			t.Fatalf("link %d got %q; want %s", i, got, want)
		}
	}
	var entries []struct {
		Signer string `json:"signer"`
	}
	if err := json.Unmarshal([]byte(e.mustCLI("list", "--json")), &entries); err != nil {
		t.Fatal(err)
	}
	fromSigner := 0
	for _, en := range entries {
		if en.Signer == pub {
			fromSigner++
		}
	}
	if fromSigner != maxEntries {
		t.Errorf("config has %d entries from the signer; want %d", fromSigner, maxEntries)
	}
}
