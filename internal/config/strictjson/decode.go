package strictjson

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Paths name a value inside a document the way a reader would write it,
// for example registered_binaries[0].hash. The empty path is the document's
// top-level value.

// Field returns the path of member name of the object at path.
func Field(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Index returns the path of element i of the array at path.
func Index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// Where returns the name of the value at path for error messages.
func Where(path string) string {
	if path == "" {
		return "the top-level value"
	}
	return path
}

// TypeError reports that the value at path is not of the expected type.
func TypeError(v *Value, path, want string) *Error {
	return Errorf(v.Offset, "%s must be %s, got %s", Where(path), want, v.Kind)
}

// DecodeObject checks that v is an object and calls fields[name] for each
// member, in document order. A member whose name is not a key of fields,
// compared case-sensitively, is an error. The parser has already rejected
// duplicate names.
func DecodeObject(v *Value, path string, fields map[string]func(v *Value, path string) error) error {
	if v.Kind != Object {
		return TypeError(v, path, "an object")
	}
	for _, m := range v.Members {
		decode, ok := fields[m.Name]
		if !ok {
			return Errorf(m.NameOffset, "unknown field %q in %s", Truncate(m.Name), Where(path))
		}
		if err := decode(m.Value, Field(path, m.Name)); err != nil {
			return err
		}
	}
	return nil
}

// Has reports whether the object v has a member called name.
func Has(v *Value, name string) bool {
	for _, m := range v.Members {
		if m.Name == name {
			return true
		}
	}
	return false
}

// DecodeArray checks that v is an array and calls decode for each element.
func DecodeArray(v *Value, path string, decode func(v *Value, path string) error) error {
	if v.Kind != Array {
		return TypeError(v, path, "an array")
	}
	for i, item := range v.Items {
		if err := decode(item, Index(path, i)); err != nil {
			return err
		}
	}
	return nil
}

// DecodeString returns the content of the string v.
func DecodeString(v *Value, path string) (string, error) {
	if v.Kind != String {
		return "", TypeError(v, path, "a string")
	}
	return v.Text, nil
}

// DecodeStrings returns the strings of the array v. An empty array yields
// an empty, non-nil slice.
func DecodeStrings(v *Value, path string) ([]string, error) {
	if v.Kind != Array {
		return nil, TypeError(v, path, "an array of strings")
	}
	out := make([]string, 0, len(v.Items))
	for i, item := range v.Items {
		if item.Kind != String {
			return nil, TypeError(item, Index(path, i), "a string")
		}
		out = append(out, item.Text)
	}
	return out, nil
}

// DecodeBool returns the value of the boolean v.
func DecodeBool(v *Value, path string) (bool, error) {
	if v.Kind != Bool {
		return false, TypeError(v, path, "a boolean")
	}
	return v.Bool, nil
}

// DecodeInt returns the number v as an integer in [min, max]. Fractions and
// exponents are rejected even when their value is whole.
func DecodeInt(v *Value, path string, min, max int64) (int64, error) {
	if v.Kind != Number {
		return 0, TypeError(v, path, "an integer")
	}
	if strings.ContainsAny(v.Text, ".eE") {
		return 0, Errorf(v.Offset, "%s must be an integer, got %s", Where(path), Truncate(v.Text))
	}
	n, err := strconv.ParseInt(v.Text, 10, 64)
	if err != nil || n < min || n > max {
		return 0, Errorf(v.Offset, "%s must be an integer from %d to %d, got %s", Where(path), min, max, Truncate(v.Text))
	}
	return n, nil
}

// DecodeUint32 returns the number v as a uint32.
func DecodeUint32(v *Value, path string) (uint32, error) {
	n, err := DecodeInt(v, path, 0, math.MaxUint32)
	return uint32(n), err
}

// DecodeTime returns the string v parsed as an RFC 3339 time, with or
// without fractional seconds.
func DecodeTime(v *Value, path string) (time.Time, error) {
	if v.Kind != String {
		return time.Time{}, TypeError(v, path, "an RFC 3339 time string")
	}
	t, err := time.Parse(time.RFC3339Nano, v.Text)
	if err != nil {
		return time.Time{}, Errorf(v.Offset, "%s must be an RFC 3339 time such as \"2026-08-05T20:00:00Z\", got %q", Where(path), Truncate(v.Text))
	}
	return t, nil
}
