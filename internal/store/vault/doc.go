// Package vault is the embedded secret store: one bbolt file whose records
// are each sealed with AES-256-GCM. It is the default backend where no
// operating-system secret store is reachable (headless Linux, containers, CI).
//
// # Threat model
//
// The vault protects secret values and attributes against anyone who obtains
// a copy of the vault file without its key: a backup, a disk image, a file
// synced to another machine. Each record is authenticated, and its associated
// data binds the record format version, the service and the target, so a
// modified record, or a record copied to another target or service, fails
// to open instead of returning wrong data.
//
// What the vault does not protect:
//
//   - Service and target names are stored in clear as bbolt bucket names and
//     keys, so that List can seek by prefix. Anyone with the file learns which
//     secrets exist and how many, and the approximate size of each.
//   - With a key file, any process of the same user can read the key file
//     and decrypt the vault. The key file protects only a copy of the vault
//     taken without it. A passphrase protects the file at rest while the
//     daemon is not running. While it runs, the key is in the daemon's memory,
//     which the daemon must make non-dumpable.
//   - Rollback: a whole older copy of the vault file, with the same key,
//     opens and reads as valid. Deleting records is not detected either,
//     because records are sealed one by one. If the newer of bbolt's two
//     meta pages is damaged, bbolt opens the older one, which loses the
//     last committed batch without an error.
//   - Deleted values may remain in free pages of the file until bbolt reuses
//     them. They are sealed, so only someone with the key can read them.
//
// # Layout
//
// The file holds two top-level buckets. "meta" holds the format version, the
// kind of key source, the key source's parameters (the Argon2id salt and
// costs for a passphrase) and a key check value: a sealed empty record that
// distinguishes a wrong key from a damaged record. "services" holds one nested
// bucket per service, keyed by target. A record is one version byte followed
// by the AES-GCM output (12-byte random nonce, ciphertext, 16-byte tag).
//
// # Durability
//
// Put and Delete each run in one bbolt Update transaction, so a batch is
// all-or-nothing and is on disk before the call returns: bbolt calls
// fdatasync after writing the data pages and again after the meta page, and
// once more when the file grows. Reads use read-only transactions.
// A new vault is built under a temporary name and moved into place only when
// complete, so an existing vault file without metadata, an empty file, a
// truncated file or a record that fails authentication is reported as
// ErrCorrupt and never read as an empty store.
package vault
