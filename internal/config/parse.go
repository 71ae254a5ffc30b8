package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/keychain-auth/keychain-auth/internal/config/strictjson"
	"github.com/keychain-auth/keychain-auth/internal/signature"
)

// MaxFileSize is the largest config.json Load accepts.
const MaxFileSize = 16 << 20

// ParseError is an invalid config file, with the 1-based line and column
// (in characters) of the offending value or field name.
type ParseError struct {
	File   string
	Line   int
	Column int
	Msg    string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// PositionError converts an error from strictjson into a *ParseError for
// file. Other errors are returned unchanged. The pending queue shares it.
func PositionError(file string, data []byte, err error) error {
	var se *strictjson.Error
	if !errors.As(err, &se) {
		return err
	}
	line, col := strictjson.Position(data, se.Offset)
	return &ParseError{File: file, Line: line, Column: col, Msg: se.Msg}
}

// Parse decodes and validates the content of a config file. Errors are of
// type *ParseError and name the file "config.json".
func Parse(data []byte) (*Config, error) {
	return parseFile("config.json", data)
}

// Load reads and parses the config file at path. A missing file is an
// empty config.
func Load(path string) (*Config, error) {
	data, err := ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Empty(), nil
	}
	if err != nil {
		return nil, err
	}
	return parseFile(path, data)
}

// Empty returns a config with no entries.
func Empty() *Config {
	c := &Config{ProtocolVersion: ProtocolVersion}
	c.buildIndex()
	return c
}

// ReadFile reads a state file of at most MaxFileSize bytes.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", path, err)
	}
	defer f.Close()
	return readLimited(f, path)
}

func readLimited(f *os.File, path string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("read %q: file is larger than %d bytes", path, MaxFileSize)
	}
	return data, nil
}

func parseFile(name string, data []byte) (*Config, error) {
	c, err := decode(data)
	if err != nil {
		return nil, PositionError(name, data, err)
	}
	c.buildIndex()
	return c, nil
}

func decode(data []byte) (*Config, error) {
	root, err := strictjson.Parse(data)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	err = strictjson.DecodeObject(root, "", map[string]func(*strictjson.Value, string) error{
		"protocol_version": func(v *strictjson.Value, path string) error {
			s, err := strictjson.DecodeString(v, path)
			if err == nil && s != "" && s != ProtocolVersion {
				err = strictjson.Errorf(v.Offset, "unsupported %s %q, want %q", path, strictjson.Truncate(s), ProtocolVersion)
			}
			c.ProtocolVersion = s
			return err
		},
		"backend": func(v *strictjson.Value, path string) error {
			s, err := strictjson.DecodeString(v, path)
			if err == nil && s != "" && !slices.Contains(backends, s) {
				err = strictjson.Errorf(v.Offset, "unknown %s %q, want one of %s", path, strictjson.Truncate(s), strings.Join(backends, ", "))
			}
			c.Backend = s
			return err
		},
		"registered_binaries": func(v *strictjson.Value, path string) error {
			c.RegisteredBinaries = make([]Binary, 0, len(v.Items))
			return strictjson.DecodeArray(v, path, func(v *strictjson.Value, path string) error {
				b, err := decodeBinary(v, path)
				c.RegisteredBinaries = append(c.RegisteredBinaries, b)
				return err
			})
		},
		"trusted_signers": func(v *strictjson.Value, path string) error {
			return strictjson.DecodeArray(v, path, func(v *strictjson.Value, path string) error {
				s, err := decodeSigner(v, path)
				c.TrustedSigners = append(c.TrustedSigners, s)
				return err
			})
		},
	})
	if err != nil {
		return nil, err
	}
	if c.ProtocolVersion == "" {
		c.ProtocolVersion = ProtocolVersion
	}
	return c, nil
}

func decodeBinary(obj *strictjson.Value, path string) (Binary, error) {
	var b Binary
	err := strictjson.DecodeObject(obj, path, map[string]func(*strictjson.Value, string) error{
		"path": func(v *strictjson.Value, path string) (err error) {
			b.Path, err = decodeExecutablePath(v, path)
			return err
		},
		"hash": func(v *strictjson.Value, path string) (err error) {
			b.Hash, err = decodeHash(v, path)
			return err
		},
		"registered_at": func(v *strictjson.Value, path string) (err error) {
			b.RegisteredAt, err = strictjson.DecodeTime(v, path)
			return err
		},
		"allowed_read_services": func(v *strictjson.Value, path string) (err error) {
			b.AllowedReadServices, err = decodeServices(v, path)
			return err
		},
		"allowed_write_services": func(v *strictjson.Value, path string) (err error) {
			b.AllowedWriteServices, err = decodeServices(v, path)
			return err
		},
		"can_search": func(v *strictjson.Value, path string) error {
			if v.Kind == strictjson.Bool {
				b.CanSearch = SearchRight{All: v.Bool}
				return nil
			}
			if v.Kind != strictjson.Array {
				return strictjson.TypeError(v, path, "a boolean or an array of service names")
			}
			services, err := decodeServices(v, path)
			if len(services) > 0 {
				b.CanSearch = SearchRight{Services: services}
			}
			return err
		},
		"signer": func(v *strictjson.Value, path string) error {
			s, err := strictjson.DecodeString(v, path)
			if err == nil && s != "" {
				err = checkKeyShape(v, path)
			}
			b.Signer = s
			return err
		},
		"uids": func(v *strictjson.Value, path string) error {
			return strictjson.DecodeArray(v, path, func(v *strictjson.Value, path string) error {
				uid, err := strictjson.DecodeUint32(v, path)
				b.UIDs = append(b.UIDs, uid)
				return err
			})
		},
	})
	if err != nil {
		return b, err
	}
	for _, name := range []string{"path", "hash"} {
		if !strictjson.Has(obj, name) {
			return b, strictjson.Errorf(obj.Offset, "missing field %q in %s", name, path)
		}
	}
	return b, nil
}

func decodeSigner(obj *strictjson.Value, path string) (Signer, error) {
	var s Signer
	err := strictjson.DecodeObject(obj, path, map[string]func(*strictjson.Value, string) error{
		"service": func(v *strictjson.Value, path string) (err error) {
			s.Service, err = decodeService(v, path)
			return err
		},
		"public_key": func(v *strictjson.Value, path string) (err error) {
			if s.PublicKey, err = strictjson.DecodeString(v, path); err != nil {
				return err
			}
			return checkKeyShape(v, path)
		},
	})
	if err != nil {
		return s, err
	}
	for _, name := range []string{"service", "public_key"} {
		if !strictjson.Has(obj, name) {
			return s, strictjson.Errorf(obj.Offset, "missing field %q in %s", name, path)
		}
	}
	return s, nil
}

// decodeExecutablePath accepts an absolute path in clean form. The daemon
// compares entries with canonical paths, so an entry such as
// "/usr/bin/../bin/tool" would never match and is rejected instead.
func decodeExecutablePath(v *strictjson.Value, path string) (string, error) {
	s, err := strictjson.DecodeString(v, path)
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(s) {
		return "", strictjson.Errorf(v.Offset, "%s must be an absolute path, got %q", path, strictjson.Truncate(s))
	}
	if clean := filepath.Clean(s); clean != s {
		return "", strictjson.Errorf(v.Offset, "%s must be a clean path: write %q instead of %q", path, strictjson.Truncate(clean), strictjson.Truncate(s))
	}
	return s, nil
}

func decodeHash(v *strictjson.Value, path string) (string, error) {
	s, err := strictjson.DecodeString(v, path)
	if err != nil {
		return "", err
	}
	h, err := NormalizeHash(s)
	if err != nil {
		return "", strictjson.Errorf(v.Offset, "%s must be 64 hex digits after an optional %q, got %q", path, HashPrefix, strictjson.Truncate(s))
	}
	return h, nil
}

func decodeService(v *strictjson.Value, path string) (string, error) {
	s, err := strictjson.DecodeString(v, path)
	if err == nil && s == "" {
		err = strictjson.Errorf(v.Offset, "%s must be a non-empty service name", path)
	}
	return s, err
}

func decodeServices(v *strictjson.Value, path string) ([]string, error) {
	if v.Kind != strictjson.Array {
		return nil, strictjson.TypeError(v, path, "an array of service names")
	}
	out := make([]string, 0, len(v.Items))
	for i, item := range v.Items {
		s, err := decodeService(item, strictjson.Index(path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// checkKeyShape accepts a PEM block or standard base64. The identity
// package decodes the key itself; this check only catches values that
// cannot be a key at all, such as a truncated paste.
func checkKeyShape(v *strictjson.Value, path string) error {
	if _, err := signature.ParsePublicKey(v.Text); err != nil {
		return strictjson.Errorf(v.Offset, "%s must be a base64 or PEM public key for Ed25519 (raw 32 bytes or DER SubjectPublicKeyInfo), as keychain-auth keygen prints it", path)
	}
	return nil
}
