package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/memory"
	"github.com/keychain-auth/keychain-auth/internal/store/secretservice"
	"github.com/keychain-auth/keychain-auth/internal/store/vault"
)

// Backend names accepted by --backend and the config's "backend" field.
const (
	BackendAuto          = "auto"
	BackendVault         = "vault"
	BackendSecretService = "secret-service"
	BackendMemory        = "memory"
)

type storeInfo struct {
	name, protection, keySource string
}

func openStore(ctx context.Context, backend string, opts Options, log *slog.Logger) (store.Store, storeInfo, error) {
	switch backend {
	case "", BackendVault:
		return openVault(opts, log)
	case BackendAuto:
		// The OS store is preferred where it responds; the vault serves
		// headless machines, containers and CI.
		if err := probeOSStore(ctx, opts); err != nil {
			log.Info("backend auto: using the vault because the OS secret store is not available", "reason", err)
			return openVault(opts, log)
		}
		log.Info("backend auto: the OS secret store responded")
		return openOSStore(ctx, opts, log)
	case BackendSecretService:
		return openSecretService(ctx, opts, log)
	case BackendKeychain:
		return openKeychain(ctx, opts, log)
	case BackendWincred:
		return openWincred(ctx, opts, log)
	case BackendMemory:
		st := memory.New()
		name, protection := st.Describe()
		log.Warn("memory backend selected: secrets are lost when the daemon stops")
		return st, storeInfo{name: name, protection: protection}, nil
	}
	return nil, storeInfo{}, fmt.Errorf("%w %q: use auto, vault, secret-service, keychain, wincred or memory", errUnknownBackend, backend)
}

func openSecretService(ctx context.Context, opts Options, log *slog.Logger) (store.Store, storeInfo, error) {
	st, err := secretservice.Open(ctx, secretservice.Options{Timeout: opts.StoreTimeout})
	if err != nil {
		return nil, storeInfo{}, fmt.Errorf("%w; start a Secret Service (gnome-keyring, KWallet) or use --backend vault", err)
	}
	name, protection := st.Describe()
	log.Info("secret service opened")
	return st, storeInfo{name: name, protection: protection}, nil
}

func openVault(opts Options, log *slog.Logger) (store.Store, storeInfo, error) {
	path := filepath.Join(opts.Layout.DataDir, vault.FileName)
	var src vault.KeySource
	switch {
	case opts.PassphraseFile != "":
		src = vault.Passphrase(vault.PassphraseFromFile(opts.PassphraseFile))
	case opts.PassphrasePrompt:
		src = vault.Passphrase(vault.PassphraseFromTerminal(os.Stdin, os.Stderr))
	case os.Getenv(vault.PassphraseFileEnv) != "":
		src = vault.Passphrase(vault.PassphraseFromEnvFile(vault.PassphraseFileEnv))
	default:
		keyFile := opts.KeyFile
		if keyFile == "" {
			keyFile = filepath.Join(opts.Layout.DataDir, vault.KeyFileName)
		}
		src = vault.KeyFile(keyFile)
	}
	v, err := vault.Open(path, src)
	if err != nil {
		return nil, storeInfo{}, err
	}
	name, protection := v.Describe()
	log.Info("vault opened", "path", path, "key_source", src.Kind())
	return v, storeInfo{name: name, protection: protection, keySource: src.Kind()}, nil
}
