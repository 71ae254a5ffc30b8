package config

import (
	"bytes"
	"encoding/json"
	"errors"
)

// SearchRight is the can_search field: a boolean that applies to every
// service the binary may read or write, or a list of service names.
// The zero value grants nothing.
type SearchRight struct {
	All      bool
	Services []string
}

// MarshalJSON writes true when All is set, the list when Services is not
// empty, and false otherwise.
func (s SearchRight) MarshalJSON() ([]byte, error) {
	switch {
	case s.All:
		return []byte("true"), nil
	case len(s.Services) == 0:
		return []byte("false"), nil
	}
	return marshal(s.Services)
}

// UnmarshalJSON accepts a boolean or an array of strings. It serves callers
// that use encoding/json directly; Parse does its own stricter decoding.
func (s *SearchRight) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch string(data) {
	case "null":
		return nil
	case "true", "false":
		*s = SearchRight{All: string(data) == "true"}
		return nil
	}
	if len(data) == 0 || data[0] != '[' {
		return errors.New("decode can_search: must be a boolean or an array of service names")
	}
	var services []string
	if err := json.Unmarshal(data, &services); err != nil {
		return errors.New("decode can_search: must be a boolean or an array of service names")
	}
	*s = SearchRight{Services: services}
	return nil
}

// The aliases drop the MarshalJSON methods so that the methods below can
// encode the struct fields without recursing.
type (
	plainConfig Config
	plainBinary Binary
)

// MarshalJSON writes protocol_version "1" when it is empty and [] for
// missing lists, so the output always parses back.
func (c Config) MarshalJSON() ([]byte, error) {
	if c.ProtocolVersion == "" {
		c.ProtocolVersion = ProtocolVersion
	}
	if c.RegisteredBinaries == nil {
		c.RegisteredBinaries = []Binary{}
	}
	return marshal(plainConfig(c))
}

// MarshalJSON writes [] for missing service lists.
func (b Binary) MarshalJSON() ([]byte, error) {
	if b.AllowedReadServices == nil {
		b.AllowedReadServices = []string{}
	}
	if b.AllowedWriteServices == nil {
		b.AllowedWriteServices = []string{}
	}
	return marshal(plainBinary(b))
}

// Marshal returns c as the file content Update writes: JSON indented by two
// spaces, fields in declaration order, ending in a newline.
func (c *Config) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// marshal is json.Marshal without escaping <, > and &, which only matters
// for JSON embedded in HTML and would make paths harder to read.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
