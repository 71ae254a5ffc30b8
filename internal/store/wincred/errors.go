package wincred

import (
	"errors"
	"fmt"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

// Win32 error codes the Credential Manager functions return (winerror.h).
const (
	errorNotFound           = 1168 // ERROR_NOT_FOUND
	errorNoSuchLogonSession = 1312 // ERROR_NO_SUCH_LOGON_SESSION
	errorInvalidParameter   = 87   // ERROR_INVALID_PARAMETER
	errorInvalidFlags       = 1004 // ERROR_INVALID_FLAGS
	errorBadUsername        = 2202 // ERROR_BAD_USERNAME
	errorAccessDenied       = 5    // ERROR_ACCESS_DENIED
)

// errorHints explains the codes a user can act on.
var errorHints = map[uint32]string{
	errorNoSuchLogonSession: "no logon session has a credential store (a service account or a network logon); run the daemon in an interactive session or use --backend vault",
	errorInvalidParameter:   "Credential Manager rejected a parameter (a name, blob or attribute too long)",
	errorInvalidFlags:       "Credential Manager rejected the call flags",
	errorBadUsername:        "Credential Manager rejected the user name",
	errorAccessDenied:       "access to Credential Manager was denied",
}

// mapError turns the Win32 error code of a failed call into the error the
// store returns: store.ErrNotFound for ERROR_NOT_FOUND, otherwise an error
// naming the operation, the credential and a hint where one exists.
func mapError(op, name string, code uint32, err error) error {
	if code == errorNotFound {
		return store.ErrNotFound
	}
	if hint, ok := errorHints[code]; ok {
		return fmt.Errorf("wincred: %s %q: %s: %w", op, name, hint, err)
	}
	return fmt.Errorf("wincred: %s %q: %w", op, name, err)
}

// isNotFound reports whether err is the store's not-found error.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
