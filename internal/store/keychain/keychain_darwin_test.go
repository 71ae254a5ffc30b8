package keychain

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/storetest"
)

// TestConformanceKeychain runs the suite against the real login keychain
// under a service name unique to this run, and deletes what it wrote. It
// runs only on macOS and only with KEYCHAIN_AUTH_TEST_KEYCHAIN=1, so it never
// touches a developer's keychain by accident.
func TestConformanceKeychain(t *testing.T) {
	if os.Getenv("KEYCHAIN_AUTH_TEST_KEYCHAIN") != "1" {
		t.Skip("set KEYCHAIN_AUTH_TEST_KEYCHAIN=1 to write test items to this user's login keychain")
	}
	service := fmt.Sprintf("keychain-auth-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { removeService(t, service) })
	storetest.Run(t, func(t *testing.T) store.Store {
		removeService(t, service)
		removeService(t, service+"-other")
		s, err := Open()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.Options{Service: service})
}

func removeService(t *testing.T, service string) {
	t.Helper()
	s, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	items, err := s.List(context.Background(), service, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	targets := make([]string, len(items))
	for i, it := range items {
		targets[i] = it.Target
	}
	if err := s.Delete(context.Background(), service, targets); err != nil {
		t.Fatal(err)
	}
}
