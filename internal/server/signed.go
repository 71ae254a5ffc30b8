package server

import (
	"errors"
	"slices"
	"time"

	"github.com/keychain-auth/keychain-auth/internal/audit"
	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/internal/identity"
	"github.com/keychain-auth/keychain-auth/internal/signature"
)

// signerSet is the parsed trusted_signers of one loaded config.
type signerSet struct {
	cfg     *config.Config
	signers []identity.Signer
	// services holds each signer's service, by the signer's ID.
	services map[string]string
}

// trustedSigners returns the parsed trusted signers of cfg, parsing them
// once per loaded config. IDs are the canonical base64 of the raw key, so
// a key written as PEM or DER in config.json matches the same signer.
func (s *Server) trustedSigners(cfg *config.Config) *signerSet {
	if set := s.signers.Load(); set != nil && set.cfg == cfg {
		return set
	}
	set := &signerSet{cfg: cfg, services: map[string]string{}}
	for _, ts := range cfg.TrustedSigners {
		key, err := signature.ParsePublicKey(ts.PublicKey)
		if err != nil {
			// The config loader rejects such keys; this only guards against
			// a config built some other way.
			continue
		}
		id := signature.EncodePublicKey(key)
		if _, dup := set.services[id]; dup {
			continue
		}
		set.signers = append(set.signers, identity.Signer{ID: id, Key: key})
		set.services[id] = ts.Service
	}
	s.signers.Store(set)
	return set
}

// signerTrusted reports whether an entry created by signer may still be
// used: removing a key from trusted_signers revokes what it signed.
func (s *Server) signerTrusted(cfg *config.Config, signer string) bool {
	_, ok := s.trustedSigners(cfg).services[signer]
	return ok
}

// errTakeover reports an entry at the caller's path that a signature must
// not replace.
var errTakeover = errors.New("an entry approved by hash or by another signer exists at this path")

// maxEntriesPerSigner bounds the entries a signature creates. Each copy or
// hard link of a signed binary is a new path, so without a bound anyone who
// can run one could grow config.json until it no longer loads.
const maxEntriesPerSigner = 64

// errSignerFull reports a signer that already has maxEntriesPerSigner entries.
var errSignerFull = errors.New("the signer already has the maximum number of entries")

// authenticateSigned accepts a caller whose executable carries a KCAS
// trailer verified by a trusted signer. It creates (or, for a new build at
// the same path, updates the hash of) an entry recording the signer, with
// read, write and search rights on the signer's service only. It never
// takes over an entry approved by hash or by another signer.
func (s *Server) authenticateSigned(c *conn, cfg *config.Config) bool {
	if len(c.id.SignedBy) == 0 {
		return false
	}
	set := s.trustedSigners(cfg)
	signer := c.id.SignedBy[0]
	service := set.services[signer]

	err := s.cfg.Policy.Update(func(cur *config.Config) error {
		found := false
		fromSigner := 0
		for i := range cur.RegisteredBinaries {
			b := &cur.RegisteredBinaries[i]
			if b.Signer == signer {
				fromSigner++
			}
			if b.Path != c.id.Path {
				continue
			}
			if b.Signer != signer {
				return errTakeover
			}
			b.Hash = c.id.Hash
			found = true
		}
		if !found && fromSigner >= maxEntriesPerSigner {
			return errSignerFull
		}
		if !found {
			cur.RegisteredBinaries = append(cur.RegisteredBinaries, config.Binary{
				Path:                 c.id.Path,
				Hash:                 c.id.Hash,
				RegisteredAt:         time.Now().UTC().Truncate(time.Second),
				AllowedReadServices:  []string{service},
				AllowedWriteServices: []string{service},
				CanSearch:            config.SearchRight{Services: []string{service}},
				Signer:               signer,
			})
		}
		return nil
	})
	if errors.Is(err, errSignerFull) {
		s.limiter.Warn("signed binary treated as unregistered: its signer already has the maximum number of entries; remove unused ones with keychain-auth revoke --remove", "pid", c.id.PID, "path", c.id.Path, "signer", signer, "max_entries", maxEntriesPerSigner)
		return false
	}
	if errors.Is(err, errTakeover) {
		s.limiter.Warn("signed binary treated as unregistered: its path belongs to an entry approved by hash or by another signer", "pid", c.id.PID, "path", c.id.Path, "signer", signer)
		return false
	}
	if err != nil {
		s.limiter.Error("cannot record signed binary in config", "pid", c.id.PID, "path", c.id.Path, "error", err)
		return false
	}
	c.verifiedBy = audit.VerifiedBySignature
	c.signer = signer
	return true
}

// signedEntryUsable reports whether entry may be used by the caller: an
// entry created by a signature needs that signer to still be trusted and
// the caller's executable to carry its valid signature.
func (s *Server) signedEntryUsable(c *conn, cfg *config.Config, entry *config.Binary) bool {
	if entry == nil || entry.Signer == "" {
		return true
	}
	return s.signerTrusted(cfg, entry.Signer) && slices.Contains(c.id.SignedBy, entry.Signer)
}
