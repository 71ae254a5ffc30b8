package keychain

import (
	"errors"
	"fmt"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

// OSStatus codes of the Security framework (SecBase.h).
const (
	errSecSuccess               = 0
	errSecUserCanceled          = -128
	errSecParam                 = -50
	errSecAllocate              = -108
	errSecNotAvailable          = -25291
	errSecReadOnly              = -25292
	errSecAuthFailed            = -25293
	errSecNoSuchKeychain        = -25294
	errSecDuplicateItem         = -25299
	errSecItemNotFound          = -25300
	errSecInteractionNotAllowed = -25308
	errSecDecode                = -26275
	errSecMissingEntitlement    = -34018
)

// ErrInteractionNotAllowed reports errSecInteractionNotAllowed: the keychain
// is locked, or the item's access list does not include this binary, and
// the query forbids prompting.
var ErrInteractionNotAllowed = errors.New("the keychain needs user interaction, which the daemon does not allow (errSecInteractionNotAllowed): unlock the login keychain, or allow keychain-auth in the item's access list in Keychain Access")

// errDuplicate reports errSecDuplicateItem.
var errDuplicate = errors.New("item already exists (errSecDuplicateItem)")

// statusText describes the other codes, with the next step where a user can act.
var statusText = map[int32]string{
	errSecUserCanceled:       "the user canceled the operation (errSecUserCanceled)",
	errSecParam:              "invalid parameter (errSecParam)",
	errSecAllocate:           "memory allocation failed (errSecAllocate)",
	errSecNotAvailable:       "no keychain is available (errSecNotAvailable); log in to a graphical session or use --backend vault",
	errSecReadOnly:           "the keychain is read-only (errSecReadOnly)",
	errSecAuthFailed:         "authorization failed (errSecAuthFailed); unlock the login keychain",
	errSecNoSuchKeychain:     "the keychain does not exist (errSecNoSuchKeychain); create a login keychain or use --backend vault",
	errSecDecode:             "the keychain returned data it could not decode (errSecDecode)",
	errSecMissingEntitlement: "the binary lacks a required entitlement (errSecMissingEntitlement)",
}

// statusError returns the error for OSStatus code from operation op on the
// item of target (empty for whole-service queries): nil for errSecSuccess,
// store.ErrNotFound for errSecItemNotFound, and a wrapped sentinel or a
// message naming the code otherwise.
func statusError(op, target string, code int32) error {
	var err error
	switch code {
	case errSecSuccess:
		return nil
	case errSecItemNotFound:
		return store.ErrNotFound
	case errSecInteractionNotAllowed:
		err = ErrInteractionNotAllowed
	case errSecDuplicateItem:
		err = errDuplicate
	default:
		text, ok := statusText[code]
		if !ok {
			text = "Security framework error"
		}
		err = fmt.Errorf("%s, OSStatus %d", text, code)
	}
	if target == "" {
		return fmt.Errorf("keychain: %s: %w", op, err)
	}
	return fmt.Errorf("keychain: %s %q: %w", op, target, err)
}
