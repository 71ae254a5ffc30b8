package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/keychain-auth/keychain-auth/internal/peercred"
)

// selfCred returns peer credentials for a connection from this process.
func selfCred(t testing.TB) *peercred.Cred {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server := <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close() })
	cred, err := peercred.Get(server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cred.Close() })
	return cred
}

func TestResolveSelf(t *testing.T) {
	cred := selfCred(t)
	r := NewResolver(Options{})
	id, err := r.Resolve(cred, nil)
	if err != nil {
		t.Fatalf("Resolve = %v", err)
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wantPath, err := filepath.EvalSymlinks(exe)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(wantPath)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	wantHash := "sha256:" + hex.EncodeToString(sum[:])

	if id.Path != wantPath {
		t.Errorf("Path = %q; want %q", id.Path, wantPath)
	}
	if id.Hash != wantHash {
		t.Errorf("Hash = %q; want %q", id.Hash, wantHash)
	}
	if id.PID != os.Getpid() {
		t.Errorf("PID = %d; want %d", id.PID, os.Getpid())
	}

	if _, err := r.Resolve(cred, nil); err != nil {
		t.Fatal(err)
	}
	if n := r.CachedEntries(); n != 1 {
		t.Errorf("CachedEntries after two resolves = %d; want 1", n)
	}

	path, hash, err := HashFile(exe)
	if err != nil || path != wantPath || hash != wantHash {
		t.Errorf("HashFile(%q) = %q, %q, %v; want %q, %q", exe, path, hash, err, wantPath, wantHash)
	}
}

func TestResolveSizeLimit(t *testing.T) {
	cred := selfCred(t)
	r := NewResolver(Options{MaxSize: 1024})
	if _, err := r.Resolve(cred, nil); err == nil {
		t.Error("Resolve of an executable above MaxSize succeeded; want ErrTooLarge")
	}
}
