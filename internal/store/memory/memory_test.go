package memory_test

import (
	"testing"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/memory"
	"github.com/keychain-auth/keychain-auth/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return memory.New() }, storetest.Options{})
}
