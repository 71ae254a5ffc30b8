package peercred

import (
	"encoding/binary"
	"fmt"
)

// auditTokenSize is the size of a macOS audit_token_t: eight 32-bit words.
const auditTokenSize = 32

// auditToken holds the fields of a macOS audit_token_t that identify a
// process. The kernel fills it for LOCAL_PEERTOKEN at connect time.
type auditToken struct {
	EUID uint32
	PID  int
	// PIDVersion increases each time the kernel reuses PID for a new
	// process, so (PID, PIDVersion) names one process for the whole boot.
	PIDVersion uint32
}

// parseAuditToken decodes the 32 bytes returned for LOCAL_PEERTOKEN. The words
// are, in order: audit user ID, effective UID, effective GID, real UID, real
// GID, PID, audit session ID and PID version (the layout read by
// audit_token_to_pid and audit_token_to_pidversion in libbsm). Both macOS
// architectures (arm64 and amd64) are little-endian.
func parseAuditToken(b []byte) (auditToken, error) {
	if len(b) != auditTokenSize {
		return auditToken{}, fmt.Errorf("parse audit token: %d bytes; want %d", len(b), auditTokenSize)
	}
	word := func(i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }
	tok := auditToken{EUID: word(1), PID: int(int32(word(5))), PIDVersion: word(7)}
	if tok.PID <= 0 {
		return auditToken{}, fmt.Errorf("parse audit token: pid %d", tok.PID)
	}
	return tok, nil
}
