package server

import "github.com/keychain-auth/keychain-auth/internal/config"

// authenticateSigned accepts a caller whose executable carries a KCAS
// trailer verified by a trusted signer.
// TODO: wire the signature verification; until then signed binaries are
// treated as unregistered.
func (s *Server) authenticateSigned(c *conn, cfg *config.Config) bool {
	return false
}
