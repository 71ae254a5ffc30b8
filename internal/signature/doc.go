// Package signature reads, checks and writes KCAS trailers: developer
// signatures appended to the end of an executable.
//
// A signed file is laid out as
//
//	<message> <64-byte Ed25519 signature> "KCAS"
//
// where the signature is a pure Ed25519 signature (RFC 8032, no pre-hash and
// no context) over the message, which is every byte before the signature.
// The trailer carries no key id, so a verifier tries each candidate key.
//
// Verification is streaming: a [Verifier] is fed the message once and
// computes the same result as [crypto/ed25519.Verify] on the whole message,
// including its rejection of non-canonical S values and of public keys that
// do not decode to a curve point. [HashAndVerify] reads a file once and
// returns both its SHA-256 (the daemon's identity hash, taken over the whole
// file including any trailer) and the keys that signed it.
//
// What the package does not guarantee:
//   - A trailer is recognised only by its last four bytes. A file whose own
//     content ends in "KCAS" and is at least [TrailerSize] bytes long looks
//     signed, fails verification, and loses its last 68 bytes if passed to
//     [Sign].
//   - A valid signature proves which key signed the bytes, not that the
//     bytes are safe to run. Which signer may do what is the policy's decision.
//   - Callers that hash a file they do not control must pin it first (open
//     it once and pass the open file and its size from fstat), because the
//     trailer and the message are read at different times.
package signature
