package daemon

import (
	"context"
	"log/slog"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/secretservice"
)

// probeOSStore reports whether the Secret Service responds within its timeout.
func probeOSStore(ctx context.Context, opts Options) error {
	return secretservice.Probe(ctx, secretservice.Options{Timeout: opts.StoreTimeout})
}

func openOSStore(ctx context.Context, opts Options, log *slog.Logger) (store.Store, storeInfo, error) {
	return openSecretService(ctx, opts, log)
}
