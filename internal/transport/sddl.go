package transport

import (
	"fmt"
	"strings"
)

// pipeSDDLFormat is the security descriptor of the Windows named pipe, in
// SDDL, with %s standing for the daemon's user SID:
//
//	O:%s       the daemon's user owns the pipe.
//	D:P        the DACL is protected, so no ACE is inherited from a parent.
//	(A;;GA;;;SY)  SYSTEM gets generic all, as Windows services expect.
//	(A;;GA;;;%s)  the daemon's own user gets generic all.
//
// No other ACE exists, so every other account, including administrators
// running without the SYSTEM token and anonymous logons, is denied.
const pipeSDDLFormat = "O:%sD:P(A;;GA;;;SY)(A;;GA;;;%s)"

// PipeSecurityDescriptor returns the SDDL security descriptor that grants the
// pipe to SYSTEM and to the user with SID userSID only. It validates the SID
// syntax so that no crafted string can add an ACE.
func PipeSecurityDescriptor(userSID string) (string, error) {
	if err := checkSID(userSID); err != nil {
		return "", fmt.Errorf("build pipe security descriptor: %w", err)
	}
	return fmt.Sprintf(pipeSDDLFormat, userSID, userSID), nil
}

// checkSID accepts the string form of a SID: "S-1-", an identifier
// authority, and one to 15 sub-authorities, all decimal.
func checkSID(sid string) error {
	parts := strings.Split(sid, "-")
	if len(parts) < 4 || parts[0] != "S" || parts[1] != "1" {
		return fmt.Errorf("invalid SID %q: want S-1-<authority>-<sub-authority>...", sid)
	}
	if len(parts)-3 > 15 {
		return fmt.Errorf("invalid SID %q: more than 15 sub-authorities", sid)
	}
	for _, p := range parts[2:] {
		if p == "" || len(p) > 20 {
			return fmt.Errorf("invalid SID %q: empty or oversized component", sid)
		}
		for _, r := range p {
			if r < '0' || r > '9' {
				return fmt.Errorf("invalid SID %q: component %q is not decimal", sid, p)
			}
		}
	}
	return nil
}
