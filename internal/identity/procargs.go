package identity

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// parseProcArgs2 decodes the buffer the macOS kern.procargs2 sysctl returns
// for a process: a 32-bit argument count (little-endian on both macOS
// architectures), the path given to execve, NUL padding, then the arguments
// as NUL-terminated strings, followed by the environment, which is ignored.
// The process can rewrite this memory, so the result is informational only.
func parseProcArgs2(buf []byte) (execPath string, args []string, err error) {
	if len(buf) < 4 {
		return "", nil, fmt.Errorf("parse procargs2: %d bytes; want at least 4", len(buf))
	}
	argc := int(int32(binary.LittleEndian.Uint32(buf)))
	rest := buf[4:]
	if argc < 0 || argc > len(rest) {
		return "", nil, fmt.Errorf("parse procargs2: invalid argument count %d for %d bytes", argc, len(rest))
	}

	end := bytes.IndexByte(rest, 0)
	if end < 0 {
		return "", nil, errors.New("parse procargs2: executable path is not NUL-terminated")
	}
	execPath = string(rest[:end])
	rest = rest[end:]
	// The path is padded with NUL bytes up to the first argument.
	for len(rest) > 0 && rest[0] == 0 {
		rest = rest[1:]
	}

	args = make([]string, 0, argc)
	for range argc {
		end := bytes.IndexByte(rest, 0)
		if end < 0 {
			return "", nil, fmt.Errorf("parse procargs2: argument %d of %d is not NUL-terminated", len(args), argc)
		}
		args = append(args, string(rest[:end]))
		rest = rest[end+1:]
	}
	return execPath, args, nil
}
