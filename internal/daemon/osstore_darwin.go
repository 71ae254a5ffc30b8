package daemon

import (
	"context"
	"log/slog"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/keychain"
)

// probeOSStore checks that the login keychain responds to a query.
func probeOSStore(ctx context.Context, opts Options) error {
	return keychain.Probe()
}

func openOSStore(ctx context.Context, opts Options, log *slog.Logger) (store.Store, storeInfo, error) {
	return openKeychain(ctx, opts, log)
}
