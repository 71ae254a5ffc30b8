//go:build !unix

package cli

import (
	"errors"

	"github.com/keychain-auth/keychain-auth/paths"
)

var errSystemModeLinuxOnly = errors.New("system mode exists only on Linux")

func installSystem(app *App, l paths.Layout, f installFlags) error {
	return errSystemModeLinuxOnly
}

func uninstallSystem(app *App, l paths.Layout, f installFlags) error {
	return errSystemModeLinuxOnly
}
