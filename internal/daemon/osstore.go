package daemon

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/keychain"
	"github.com/keychain-auth/keychain-auth/internal/store/wincred"
)

// Backend names of the macOS and Windows OS stores. Both packages build on
// every system and return a "not supported" error outside their own.
const (
	BackendKeychain = "keychain"
	BackendWincred  = "wincred"
)

func openKeychain(ctx context.Context, opts Options, log *slog.Logger) (store.Store, storeInfo, error) {
	st, err := keychain.Open()
	if err != nil {
		return nil, storeInfo{}, fmt.Errorf("open macOS keychain: %w; use --backend vault", err)
	}
	name, protection := st.Describe()
	log.Info("macOS keychain opened")
	return st, storeInfo{name: name, protection: protection}, nil
}

func openWincred(ctx context.Context, opts Options, log *slog.Logger) (store.Store, storeInfo, error) {
	st, err := wincred.Open()
	if err != nil {
		return nil, storeInfo{}, fmt.Errorf("open Windows Credential Manager: %w; use --backend vault", err)
	}
	name, protection := st.Describe()
	log.Info("Windows Credential Manager opened")
	return st, storeInfo{name: name, protection: protection}, nil
}
