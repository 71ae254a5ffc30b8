// Package config loads, validates and writes the policy file config.json,
// which lists the binaries allowed to use the daemon and their rights.
//
// Loading is strict: an unknown or misspelled field, a wrong JSON type, a
// duplicate key or an invalid value is an error that names the field and
// its line and column, because a policy typo must never be silently ignored.
// Writers go through Update, which serializes them across processes with a
// file lock and replaces the file atomically with mode 0600. The daemon
// reads the policy through a Cache, which notices every replacement of the
// file on its next call.
package config

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keychain-auth/keychain-auth/internal/config/strictjson"
)

// ProtocolVersion is the only supported value of protocol_version.
const ProtocolVersion = "1"

// backends lists the accepted values of the backend field after the empty
// string, which means the daemon's default.
var backends = []string{"auto", "vault", "secret-service", "keychain", "wincred", "memory"}

// Backends returns the accepted non-empty values of the backend field.
func Backends() []string { return slices.Clone(backends) }

// HashPrefix starts every normalized executable hash.
const HashPrefix = "sha256:"

// Config is the content of config.json.
//
// A Config returned by Parse, Load or a Cache carries a lookup index and
// must be treated as read-only, because the daemon shares it between
// goroutines. Update hands its callback a fresh copy to modify.
type Config struct {
	ProtocolVersion    string   `json:"protocol_version"`
	Backend            string   `json:"backend,omitempty"`
	RegisteredBinaries []Binary `json:"registered_binaries"`
	TrustedSigners     []Signer `json:"trusted_signers,omitempty"`

	idx *lookupIndex
}

// Binary is one registered executable and its rights.
type Binary struct {
	// Path is the canonical absolute path of the executable.
	Path string `json:"path"`
	// Hash is HashPrefix followed by 64 lowercase hex digits of the SHA-256
	// of the file. Parse normalizes hashes written without the prefix or in
	// upper case.
	Hash                 string      `json:"hash"`
	RegisteredAt         time.Time   `json:"registered_at"`
	AllowedReadServices  []string    `json:"allowed_read_services"`
	AllowedWriteServices []string    `json:"allowed_write_services"`
	CanSearch            SearchRight `json:"can_search"`
	// Signer is the base64 public key of the trusted signer whose signature
	// created this entry; empty for entries approved by hash.
	Signer string `json:"signer,omitempty"`
	// UIDs are the user IDs allowed to use this entry in system mode.
	UIDs []uint32 `json:"uids,omitempty"`
}

// Signer is a developer key whose signed binaries get rights to Service
// without manual approval.
type Signer struct {
	Service string `json:"service"`
	// PublicKey is an Ed25519 key: base64 of the raw 32 bytes or of the DER
	// SubjectPublicKeyInfo, or a PEM block.
	PublicKey string `json:"public_key"`
}

// CanRead reports whether b may read (and list) secrets of service.
func (b *Binary) CanRead(service string) bool {
	return slices.Contains(b.AllowedReadServices, service)
}

// CanWrite reports whether b may write and delete secrets of service.
func (b *Binary) CanWrite(service string) bool {
	return slices.Contains(b.AllowedWriteServices, service)
}

// CanSearchIn reports whether b has the search right for service, which
// search, prefix read and prefix delete need in addition to the read or
// write right. can_search: true grants it for every service b may read or
// write; a list grants it for the listed services.
func (b *Binary) CanSearchIn(service string) bool {
	if b.CanSearch.All {
		return b.CanRead(service) || b.CanWrite(service)
	}
	return slices.Contains(b.CanSearch.Services, service)
}

// NormalizeHash returns s as HashPrefix followed by 64 lowercase hex digits.
// It accepts the digits with or without the prefix and in either case.
func NormalizeHash(s string) (string, error) {
	digits := s
	if len(s) >= len(HashPrefix) && strings.EqualFold(s[:len(HashPrefix)], HashPrefix) {
		digits = s[len(HashPrefix):]
	}
	if len(digits) != 64 {
		return "", fmt.Errorf("normalize hash %q: want 64 hex digits after an optional %q, got %d characters", strictjson.Truncate(s), HashPrefix, len(digits))
	}
	if _, err := hex.DecodeString(digits); err != nil {
		return "", fmt.Errorf("normalize hash %q: want 64 hex digits after an optional %q", strictjson.Truncate(s), HashPrefix)
	}
	return HashPrefix + strings.ToLower(digits), nil
}

// lookupIndex maps paths to positions in RegisteredBinaries. It records
// which slice it indexed so that Lookup can tell when the slice was
// replaced or resized after parsing and fall back to a scan.
type lookupIndex struct {
	first  *Binary
	n      int
	byPath map[string][]int
}

func (c *Config) buildIndex() {
	idx := &lookupIndex{n: len(c.RegisteredBinaries), byPath: make(map[string][]int, len(c.RegisteredBinaries))}
	if idx.n > 0 {
		idx.first = &c.RegisteredBinaries[0]
	}
	for i := range c.RegisteredBinaries {
		p := c.RegisteredBinaries[i].Path
		idx.byPath[p] = append(idx.byPath[p], i)
	}
	c.idx = idx
}

// positions returns the indexes of the entries with path, or ok == false
// when c has no valid index.
func (c *Config) positions(path string) (pos []int, ok bool) {
	idx := c.idx
	if idx == nil || idx.n != len(c.RegisteredBinaries) {
		return nil, false
	}
	if idx.n > 0 && idx.first != &c.RegisteredBinaries[0] {
		return nil, false
	}
	return idx.byPath[path], true
}

// Lookup returns the first entry with this path and hash, or nil. The hash
// must be normalized (see NormalizeHash).
func (c *Config) Lookup(path, hash string) *Binary {
	if pos, ok := c.positions(path); ok {
		for _, i := range pos {
			if c.RegisteredBinaries[i].Hash == hash {
				return &c.RegisteredBinaries[i]
			}
		}
		return nil
	}
	for i := range c.RegisteredBinaries {
		if b := &c.RegisteredBinaries[i]; b.Path == path && b.Hash == hash {
			return b
		}
	}
	return nil
}

// LookupPath returns every entry with this path, in file order.
func (c *Config) LookupPath(path string) []*Binary {
	var out []*Binary
	if pos, ok := c.positions(path); ok {
		for _, i := range pos {
			out = append(out, &c.RegisteredBinaries[i])
		}
		return out
	}
	for i := range c.RegisteredBinaries {
		if c.RegisteredBinaries[i].Path == path {
			out = append(out, &c.RegisteredBinaries[i])
		}
	}
	return out
}
