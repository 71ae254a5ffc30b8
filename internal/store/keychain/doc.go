// Package keychain stores secrets in the macOS login keychain as generic
// password items: kSecAttrService is the service, kSecAttrAccount the
// target, kSecValueData the value. The item's attributes are a JSON object
// in kSecAttrGeneric, a binary attribute that Keychain Access does not show,
// so the visible comment stays free for people.
//
// The Security and CoreFoundation frameworks are called directly through
// github.com/ebitengine/purego, without cgo and never through
// /usr/bin/security, which would become the application the keychain trusts.
// Every query sets kSecUseAuthenticationUI to kSecUseAuthenticationUIFail,
// so a locked keychain or an item whose access list does not include the
// daemon returns errSecInteractionNotAllowed instead of showing a prompt no
// one may be there to answer.
//
// Guarantees: Put and Delete read every affected item first and, when a
// change fails midway, restore the items already changed. The keychain has
// no transactions, so a crash or a failure during that restoration can leave
// part of a batch applied.
//
// The keychain protects items against other users and, through item access
// lists, prompts before other applications read them. It does not protect
// against a same-user process the user has allowed.
package keychain
