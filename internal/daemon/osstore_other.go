//go:build !linux

package daemon

import (
	"context"
	"errors"
	"log/slog"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

// TODO: the macOS Keychain and Windows Credential Manager backends.
func probeOSStore(ctx context.Context, opts Options) error {
	return errors.New("no OS secret store backend on this platform yet")
}

func openOSStore(ctx context.Context, opts Options, log *slog.Logger) (store.Store, storeInfo, error) {
	return nil, storeInfo{}, errors.New("no OS secret store backend on this platform yet")
}
