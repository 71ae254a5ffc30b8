//go:build !linux && !darwin && !windows

package daemon

import (
	"context"
	"errors"
	"log/slog"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

var errNoOSStore = errors.New("no OS secret store backend on this platform")

func probeOSStore(ctx context.Context, opts Options) error { return errNoOSStore }

func openOSStore(ctx context.Context, opts Options, log *slog.Logger) (store.Store, storeInfo, error) {
	return nil, storeInfo{}, errNoOSStore
}
