package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks that Parse never panics, accepts only valid JSON, and
// that every config it accepts survives Marshal and Parse unchanged.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"registered_binaries": [{"path": "/a", "hash": "` + hashA + `", "can_search": ["x"], "uids": [0]}]}`))
	f.Add([]byte(`{"trusted_signers": [{"service": "s", "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}]}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("Parse error %v is a %T; want *ParseError", err, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Parse accepted invalid JSON %q", data)
		}
		out, err := c.Marshal()
		if err != nil {
			// Times before year 0 or after 9999 parse but cannot be encoded.
			for _, b := range c.RegisteredBinaries {
				if y := b.RegisteredAt.Year(); y < 0 || y > 9999 {
					return
				}
			}
			t.Fatalf("Marshal() error = %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal()) error = %v\n%s", err, out)
		}
		if diff := cmp.Diff(c, again, cmpConfig...); diff != "" {
			t.Fatalf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}
