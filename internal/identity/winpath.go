package identity

import "strings"

// trimFinalPathPrefix turns the form GetFinalPathNameByHandle returns on
// Windows into an ordinary Win32 path: `\\?\C:\dir\f.exe` becomes
// `C:\dir\f.exe` and `\\?\UNC\server\share\f.exe` becomes
// `\\server\share\f.exe`. Other paths are returned unchanged.
func trimFinalPathPrefix(p string) string {
	const unc = `\\?\UNC\`
	if len(p) >= len(unc) && strings.EqualFold(p[:len(unc)], unc) {
		return `\\` + p[len(unc):]
	}
	if rest, ok := strings.CutPrefix(p, `\\?\`); ok {
		return rest
	}
	return p
}
