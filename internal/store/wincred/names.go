package wincred

import (
	"fmt"
	"strconv"
	"strings"
)

// Name syntax characters. A service containing any of them, or '%', has it
// percent-encoded in credential names.
const (
	targetSep = ':'
	chunkSep  = '#'
)

// escapeService percent-encodes the characters of service that have a
// meaning in credential names or enumeration filters.
func escapeService(service string) string {
	if !strings.ContainsAny(service, ":#*%") {
		return service
	}
	var b strings.Builder
	for i := 0; i < len(service); i++ {
		switch c := service[i]; c {
		case ':', '#', '*', '%':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescapeService reverses escapeService. It rejects a string that
// escapeService cannot have produced.
func unescapeService(s string) (string, bool) {
	if strings.ContainsAny(s, ":#*") {
		return "", false
	}
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil || !strings.ContainsRune(":#*%", rune(v)) || s[i+1:i+3] != fmt.Sprintf("%02X", v) {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), true
}

// primaryName returns the name of the credential that holds target.
func primaryName(service, target string) string {
	return escapeService(service) + string(targetSep) + target
}

// chunkName returns the name of chunk n (1-based) of one version of target.
func chunkName(service, target, generation string, n int) string {
	return escapeService(service) + string(chunkSep) + generation + "." + strconv.Itoa(n) + string(targetSep) + target
}

// serviceFilter returns the CredEnumerate filter that matches the primary
// credentials of service and nothing else.
func serviceFilter(service string) string {
	return escapeService(service) + string(targetSep) + "*"
}

// parsePrimaryName returns the service and target of a primary credential
// name. Chunk names and foreign names report ok false.
func parsePrimaryName(name string) (service, target string, ok bool) {
	head, target, found := strings.Cut(name, string(targetSep))
	if !found || target == "" {
		return "", "", false
	}
	service, ok = unescapeService(head)
	if !ok || service == "" {
		return "", "", false
	}
	return service, target, true
}
