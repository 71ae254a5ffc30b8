package pending

import (
	"math"

	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/internal/config/strictjson"
)

func parseFile(name string, data []byte) ([]Entry, error) {
	entries, err := decode(data)
	if err != nil {
		return nil, config.PositionError(name, data, err)
	}
	return entries, nil
}

func decode(data []byte) ([]Entry, error) {
	root, err := strictjson.Parse(data)
	if err != nil {
		return nil, err
	}
	var entries []Entry
	err = strictjson.DecodeArray(root, "", func(v *strictjson.Value, path string) error {
		e, err := decodeEntry(v, path)
		entries = append(entries, e)
		return err
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}

// decodeEntry decodes one entry. Type errors name the field but never
// quote a cli_args value, which may be a secret.
func decodeEntry(obj *strictjson.Value, path string) (Entry, error) {
	var e Entry
	err := strictjson.DecodeObject(obj, path, map[string]func(*strictjson.Value, string) error{
		"hash": func(v *strictjson.Value, path string) error {
			s, err := strictjson.DecodeString(v, path)
			if err != nil {
				return err
			}
			if e.Hash, err = config.NormalizeHash(s); err != nil {
				return strictjson.Errorf(v.Offset, "%s must be 64 hex digits after an optional %q, got %q", path, config.HashPrefix, strictjson.Truncate(s))
			}
			return nil
		},
		"path": func(v *strictjson.Value, path string) (err error) {
			e.Path, err = strictjson.DecodeString(v, path)
			return err
		},
		"cli_args": func(v *strictjson.Value, path string) (err error) {
			e.CLIArgs, err = strictjson.DecodeStrings(v, path)
			return err
		},
		"invoked_at": func(v *strictjson.Value, path string) (err error) {
			e.InvokedAt, err = strictjson.DecodeTime(v, path)
			return err
		},
		"pid": func(v *strictjson.Value, path string) error {
			n, err := strictjson.DecodeInt(v, path, 0, math.MaxInt32)
			e.PID = int(n)
			return err
		},
		"uid": func(v *strictjson.Value, path string) (err error) {
			e.UID, err = strictjson.DecodeUint32(v, path)
			return err
		},
		"attempts": func(v *strictjson.Value, path string) error {
			n, err := strictjson.DecodeInt(v, path, 0, math.MaxInt32)
			e.Attempts = int(n)
			return err
		},
	})
	if err != nil {
		return e, err
	}
	for _, name := range []string{"hash", "path", "invoked_at"} {
		if !strictjson.Has(obj, name) {
			return e, strictjson.Errorf(obj.Offset, "missing field %q in %s", name, path)
		}
	}
	return e, nil
}
