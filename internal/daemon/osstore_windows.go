package daemon

import (
	"context"
	"log/slog"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/wincred"
)

// probeOSStore checks that Credential Manager responds to an enumeration.
// It fails in sessions without a credential store, such as service accounts.
func probeOSStore(ctx context.Context, opts Options) error {
	return wincred.Probe()
}

func openOSStore(ctx context.Context, opts Options, log *slog.Logger) (store.Store, storeInfo, error) {
	return openWincred(ctx, opts, log)
}
