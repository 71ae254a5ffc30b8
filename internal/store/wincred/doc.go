// Package wincred stores secrets in the Windows Credential Manager as generic
// credentials named "<service>:<target>".
//
// Layout of one item:
//
//   - The primary credential "<service>:<target>" holds the first part of the
//     value in its blob. Characters of the service that the name syntax uses
//     (':', '#', '*', '%') are percent-encoded, so the first ':' always ends
//     the service and a "<service>:*" enumeration never matches another
//     service.
//   - Values above the 2,560-byte blob limit continue in chunk credentials
//     "<service>#<generation>.<n>:<target>" for n = 1, 2, .... The generation
//     is random per write, so a new version's chunks never overwrite the old
//     version's. The primary is written last and switches readers from one
//     version to the next in one CredWrite.
//   - A credential attribute "keychain-auth" holds the layout as JSON
//     (generation, chunk count, total size). The item's attributes are JSON in
//     attributes "keychain-auth:attrs:<n>", 256 bytes each.
//
// A credential named "<service>:<target>" without the layout attribute, as
// another program may write, is read as a whole value without attributes.
//
// Guarantees: Put and Delete validate every item before writing and, when a
// write fails midway, restore the credentials already changed. Credential
// Manager has no transactions, so a crash or a failure during that
// restoration can leave part of a batch applied.
//
// Credential Manager protects secrets with DPAPI against other users and
// offline access, not against other processes of the same user, which can
// call CredRead directly.
package wincred
