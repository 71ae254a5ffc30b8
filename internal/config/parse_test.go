package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	hashA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hashB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// cmpConfig compares configs ignoring the lookup index and the difference
// between nil and empty slices.
var cmpConfig = []cmp.Option{cmpopts.IgnoreUnexported(Config{}), cmpopts.EquateEmpty()}

func TestParseValidFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "valid.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(valid.json) error = %v", err)
	}
	want := &Config{
		ProtocolVersion: "1",
		Backend:         "vault",
		RegisteredBinaries: []Binary{
			{
				Path:                 "/usr/local/bin/tool",
				Hash:                 "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
				RegisteredAt:         time.Date(2026, 8, 5, 20, 0, 0, 0, time.UTC),
				AllowedReadServices:  []string{"aws"},
				AllowedWriteServices: []string{"aws"},
				CanSearch:            SearchRight{All: true},
			},
			{
				Path:                 "/opt/deploy/bin/deploy",
				Hash:                 "sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752",
				RegisteredAt:         time.Date(2026, 8, 6, 7, 30, 15, 123456789, time.UTC),
				AllowedReadServices:  []string{"aws", "AgentSecrets"},
				AllowedWriteServices: []string{},
				CanSearch:            SearchRight{Services: []string{"AgentSecrets"}},
				Signer:               "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=",
				UIDs:                 []uint32{1000, 1001},
			},
		},
		TrustedSigners: []Signer{{Service: "AgentSecrets", PublicKey: "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="}},
	}
	if diff := cmp.Diff(want, got, cmpConfig...); diff != "" {
		t.Errorf("Parse(valid.json) mismatch (-want +got):\n%s", diff)
	}
}

func TestParseDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
	}{
		{name: "empty object", data: `{}`},
		{name: "empty version", data: `{"protocol_version": "", "registered_binaries": []}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.data))
			if err != nil {
				t.Fatalf("Parse(%s) error = %v", tc.data, err)
			}
			if c.ProtocolVersion != "1" {
				t.Errorf("ProtocolVersion = %q; want %q", c.ProtocolVersion, "1")
			}
			if len(c.RegisteredBinaries) != 0 {
				t.Errorf("RegisteredBinaries = %v; want none", c.RegisteredBinaries)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	// binary returns a one-line registered_binaries entry with extra
	// members, so the error column is predictable.
	binary := func(extra string) string {
		return `{"path": "/bin/x", "hash": "` + hashA + `"` + extra + `}`
	}
	top := func(entry string) string {
		return "{\n  \"registered_binaries\": [\n    " + entry + "\n  ]\n}"
	}
	for _, tc := range []struct {
		name    string
		data    string
		line    int
		column  int
		message string
	}{
		{
			name: "unknown field in binary",
			data: top(binary(`, "allowed_reads": ["aws"]`)), line: 3, column: 107,
			message: `unknown field "allowed_reads" in registered_binaries[0]`,
		},
		{
			name: "field name in another case", data: "{\n\"Protocol_Version\": \"1\"}", line: 2, column: 1,
			message: `unknown field "Protocol_Version" in the top-level value`,
		},
		{
			name: "unknown top-level field", data: `{"protocol_version": "1", "extra": 1}`, line: 1, column: 27,
			message: `unknown field "extra" in the top-level value`,
		},
		{
			name: "duplicate key", data: top(binary(`, "path": "/bin/y"`)), line: 3, column: 107,
			message: `duplicate field "path" in registered_binaries[0]`,
		},
		{
			name: "duplicate top-level key", data: "{\"backend\": \"vault\",\n \"backend\": \"memory\"}", line: 2, column: 2,
			message: `duplicate field "backend" in the top-level value`,
		},
		{
			name: "trailing data", data: "{}\n{}", line: 2, column: 1,
			message: "unexpected data after the JSON value",
		},
		{
			name: "can_search wrong type", data: top(binary(`, "can_search": "yes"`)), line: 3, column: 121,
			message: "registered_binaries[0].can_search must be a boolean or an array of service names, got string",
		},
		{
			name: "can_search list element wrong type", data: top(binary(`, "can_search": ["aws", 3]`)), line: 3, column: 129,
			message: "registered_binaries[0].can_search[1] must be a string, got number",
		},
		{
			name: "hash too short", data: top(`{"path": "/bin/x", "hash": "sha256:abc"}`), line: 3, column: 32,
			message: `registered_binaries[0].hash must be 64 hex digits after an optional "sha256:", got "sha256:abc"`,
		},
		{
			name: "hash not hex", data: top(`{"path": "/bin/x", "hash": "` + strings.Repeat("g", 64) + `"}`), line: 3, column: 32,
			message: "registered_binaries[0].hash must be 64 hex digits",
		},
		{
			name: "relative path", data: top(`{"path": "bin/x", "hash": "` + hashA + `"}`), line: 3, column: 14,
			message: `registered_binaries[0].path must be an absolute path, got "bin/x"`,
		},
		{
			name: "unclean path", data: top(`{"path": "/usr/bin/../bin/x", "hash": "` + hashA + `"}`), line: 3, column: 14,
			message: `registered_binaries[0].path must be a clean path: write "/usr/bin/x"`,
		},
		{
			name: "missing hash", data: top(`{"path": "/bin/x"}`), line: 3, column: 5,
			message: `missing field "hash" in registered_binaries[0]`,
		},
		{
			name: "missing path", data: top(`{"hash": "` + hashA + `"}`), line: 3, column: 5,
			message: `missing field "path" in registered_binaries[0]`,
		},
		{
			name: "unsupported protocol version", data: `{"protocol_version": "2"}`, line: 1, column: 22,
			message: `unsupported protocol_version "2", want "1"`,
		},
		{
			name: "protocol version as number", data: `{"protocol_version": 1}`, line: 1, column: 22,
			message: "protocol_version must be a string, got number",
		},
		{
			name: "empty read service", data: top(binary(`, "allowed_read_services": ["aws", ""]`)), line: 3, column: 140,
			message: "registered_binaries[0].allowed_read_services[1] must be a non-empty service name",
		},
		{
			name: "write services not an array", data: top(binary(`, "allowed_write_services": "aws"`)), line: 3, column: 133,
			message: "registered_binaries[0].allowed_write_services must be an array of service names, got string",
		},
		{
			name: "registered_at not RFC 3339", data: top(binary(`, "registered_at": "yesterday"`)), line: 3, column: 124,
			message: "registered_binaries[0].registered_at must be an RFC 3339 time",
		},
		{
			name: "negative uid", data: top(binary(`, "uids": [-1]`)), line: 3, column: 116,
			message: "registered_binaries[0].uids[0] must be an integer from 0 to 4294967295, got -1",
		},
		{
			name: "fractional uid", data: top(binary(`, "uids": [1.5]`)), line: 3, column: 116,
			message: "registered_binaries[0].uids[0] must be an integer, got 1.5",
		},
		{
			name: "binaries not an array", data: `{"registered_binaries": {}}`, line: 1, column: 25,
			message: "registered_binaries must be an array, got object",
		},
		{
			name: "binary not an object", data: `{"registered_binaries": [null]}`, line: 1, column: 26,
			message: "registered_binaries[0] must be an object, got null",
		},
		{
			name: "unknown backend", data: `{"backend": "gnome"}`, line: 1, column: 13,
			message: `unknown backend "gnome"`,
		},
		{
			name: "signer with empty key", data: "{\"trusted_signers\": [\n {\"service\": \"s\", \"public_key\": \"\"}]}", line: 2, column: 33,
			message: "trusted_signers[0].public_key must be a base64 or PEM public key",
		},
		{
			name: "signer key not base64", data: `{"trusted_signers": [{"service": "s", "public_key": "not base64!"}]}`, line: 1, column: 53,
			message: "trusted_signers[0].public_key must be a base64 or PEM public key",
		},
		{
			name: "signer with empty service", data: `{"trusted_signers": [{"service": "", "public_key": "AAAA"}]}`, line: 1, column: 34,
			message: "trusted_signers[0].service must be a non-empty service name",
		},
		{
			name: "signer missing key", data: `{"trusted_signers": [{"service": "s"}]}`, line: 1, column: 22,
			message: `missing field "public_key" in trusted_signers[0]`,
		},
		{
			name: "unknown field in signer", data: `{"trusted_signers": [{"service": "s", "key": "AAAA"}]}`, line: 1, column: 39,
			message: `unknown field "key" in trusted_signers[0]`,
		},
		{
			name: "top level not an object", data: `[]`, line: 1, column: 1,
			message: "the top-level value must be an object, got array",
		},
		{
			name: "syntax error", data: "{\n  \"backend\": \"vault\",\n}", line: 3, column: 1,
			message: "expected a string key",
		},
		{
			name: "unterminated string", data: `{"backend": "vau`, line: 1, column: 17,
			message: "unterminated string",
		},
		{
			name: "column counts characters", data: `{"trusted_signers": [{"service": "é", "public_key": "qRwjZwCVfdcdayAIKiYsbk5aNJeYcaT6EF/e3m2aJx0=", "x": 1}]}`, line: 1, column: 101,
			message: `unknown field "x" in trusted_signers[0]`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%s) error = %v; want a *ParseError", tc.data, err)
			}
			if pe.File != "config.json" {
				t.Errorf("File = %q; want %q", pe.File, "config.json")
			}
			if pe.Line != tc.line || pe.Column != tc.column {
				t.Errorf("position = %d:%d; want %d:%d (error %q)", pe.Line, pe.Column, tc.line, tc.column, pe.Error())
			}
			if !strings.Contains(pe.Msg, tc.message) {
				t.Errorf("message = %q; want it to contain %q", pe.Msg, tc.message)
			}
		})
	}
}

func TestParseErrorFormat(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "unknown_field.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(data)
	want := `config.json:5:6: unknown field "allowed_reads" in registered_binaries[0]`
	if err == nil || err.Error() != want {
		t.Errorf("Parse(unknown_field.json) error = %v; want %s", err, want)
	}
}

func TestLoadNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(`{"x": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := path + `:1:2: unknown field "x" in the top-level value`
	if err == nil || err.Error() != want {
		t.Errorf("Load() error = %v; want %s", err, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	c, err := Load(filepath.Join(t.TempDir(), "config.json"))
	if err != nil {
		t.Fatalf("Load(missing) error = %v", err)
	}
	if diff := cmp.Diff(&Config{ProtocolVersion: "1"}, c, cmpConfig...); diff != "" {
		t.Errorf("Load(missing) mismatch (-want +got):\n%s", diff)
	}
}

func TestNormalizeHash(t *testing.T) {
	lower := strings.Repeat("0123456789abcdef", 4)
	upper := strings.ToUpper(lower)
	for _, tc := range []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{name: "prefixed lower case", in: "sha256:" + lower, want: "sha256:" + lower},
		{name: "bare lower case", in: lower, want: "sha256:" + lower},
		{name: "bare upper case", in: upper, want: "sha256:" + lower},
		{name: "upper case prefix", in: "SHA256:" + upper, want: "sha256:" + lower},
		{name: "empty", in: "", wantErr: true},
		{name: "prefix only", in: "sha256:", wantErr: true},
		{name: "63 digits", in: lower[:63], wantErr: true},
		{name: "65 digits", in: lower + "0", wantErr: true},
		{name: "non-hex digit", in: lower[:63] + "g", wantErr: true},
		{name: "other algorithm", in: "sha512:" + lower, wantErr: true},
		{name: "surrounding space", in: " " + lower, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeHash(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Errorf("NormalizeHash(%q) = %q; want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("NormalizeHash(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestSearchRightJSON(t *testing.T) {
	for _, tc := range []struct {
		name  string
		right SearchRight
		json  string
	}{
		{name: "all", right: SearchRight{All: true}, json: `true`},
		{name: "none", right: SearchRight{}, json: `false`},
		{name: "list", right: SearchRight{Services: []string{"aws", "gcp"}}, json: `["aws","gcp"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := json.Marshal(tc.right)
			if err != nil || string(data) != tc.json {
				t.Fatalf("json.Marshal(%+v) = %s, %v; want %s", tc.right, data, err, tc.json)
			}
			var got SearchRight
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatalf("json.Unmarshal(%s) error = %v", data, err)
			}
			if diff := cmp.Diff(tc.right, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("encoding/json round trip mismatch (-want +got):\n%s", diff)
			}

			// The same value must survive Marshal and the strict Parse.
			in := &Config{RegisteredBinaries: []Binary{{Path: "/bin/x", Hash: hashA, CanSearch: tc.right}}}
			file, err := in.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			out, err := Parse(file)
			if err != nil {
				t.Fatalf("Parse(Marshal()) error = %v\n%s", err, file)
			}
			if diff := cmp.Diff(tc.right, out.RegisteredBinaries[0].CanSearch, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSearchRightUnmarshalRejects(t *testing.T) {
	for _, in := range []string{`"yes"`, `1`, `{}`, `[1]`} {
		var s SearchRight
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("json.Unmarshal(%s) = %+v; want an error", in, s)
		}
	}
}

func TestMarshalFormat(t *testing.T) {
	c := &Config{RegisteredBinaries: []Binary{{
		Path:         "/opt/a<b>&c",
		Hash:         hashA,
		RegisteredAt: time.Date(2026, 8, 5, 20, 0, 0, 0, time.UTC),
	}}}
	got, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "protocol_version": "1",
  "registered_binaries": [
    {
      "path": "/opt/a<b>&c",
      "hash": "` + hashA + `",
      "registered_at": "2026-08-05T20:00:00Z",
      "allowed_read_services": [],
      "allowed_write_services": [],
      "can_search": false
    }
  ]
}
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("Marshal() mismatch (-want +got):\n%s", diff)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "valid.json"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := first.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	second, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(Marshal()) error = %v\n%s", err, out)
	}
	if diff := cmp.Diff(first, second, cmpConfig...); diff != "" {
		t.Errorf("round trip mismatch (-first +second):\n%s", diff)
	}
	again, err := second.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(out) {
		t.Errorf("Marshal is not stable:\n%s\nthen\n%s", out, again)
	}
}

func TestRights(t *testing.T) {
	b := &Binary{
		AllowedReadServices:  []string{"aws", "docs"},
		AllowedWriteServices: []string{"aws", "ci"},
	}
	all := *b
	all.CanSearch = SearchRight{All: true}
	listed := *b
	listed.CanSearch = SearchRight{Services: []string{"docs"}}

	for _, tc := range []struct {
		name    string
		binary  *Binary
		service string
		read    bool
		write   bool
		search  bool
	}{
		{name: "read and write", binary: b, service: "aws", read: true, write: true},
		{name: "read only", binary: b, service: "docs", read: true},
		{name: "write only", binary: b, service: "ci", write: true},
		{name: "unknown service", binary: b, service: "other"},
		{name: "search all on readable", binary: &all, service: "docs", read: true, search: true},
		{name: "search all on writable", binary: &all, service: "ci", write: true, search: true},
		{name: "search all on unknown", binary: &all, service: "other"},
		{name: "search list listed", binary: &listed, service: "docs", read: true, search: true},
		{name: "search list not listed", binary: &listed, service: "aws", read: true, write: true},
		{name: "service names are case-sensitive", binary: b, service: "AWS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.binary.CanRead(tc.service); got != tc.read {
				t.Errorf("CanRead(%q) = %v; want %v", tc.service, got, tc.read)
			}
			if got := tc.binary.CanWrite(tc.service); got != tc.write {
				t.Errorf("CanWrite(%q) = %v; want %v", tc.service, got, tc.write)
			}
			if got := tc.binary.CanSearchIn(tc.service); got != tc.search {
				t.Errorf("CanSearchIn(%q) = %v; want %v", tc.service, got, tc.search)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	data := `{"registered_binaries": [
		{"path": "/bin/a", "hash": "` + hashA + `", "allowed_read_services": ["first"]},
		{"path": "/bin/b", "hash": "` + hashA + `"},
		{"path": "/bin/a", "hash": "` + hashB + `"},
		{"path": "/bin/a", "hash": "` + hashA + `", "allowed_read_services": ["second"]}
	]}`
	c, err := Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	unindexed := *c
	unindexed.idx = nil
	resliced := *c
	resliced.RegisteredBinaries = append([]Binary(nil), c.RegisteredBinaries[1:]...)

	for _, tc := range []struct {
		name   string
		config *Config
	}{
		{name: "indexed", config: c},
		{name: "unindexed", config: &unindexed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.config.Lookup("/bin/a", hashA)
			if got == nil || !got.CanRead("first") {
				t.Errorf("Lookup(/bin/a, hashA) = %+v; want the first matching entry", got)
			}
			if got := tc.config.Lookup("/bin/b", hashB); got != nil {
				t.Errorf("Lookup(/bin/b, hashB) = %+v; want nil", got)
			}
			if got := tc.config.Lookup("/bin/c", hashA); got != nil {
				t.Errorf("Lookup(/bin/c, hashA) = %+v; want nil", got)
			}
			if got := tc.config.Lookup("/bin/a", hashA); got != &tc.config.RegisteredBinaries[0] {
				t.Errorf("Lookup returned a copy; want a pointer into RegisteredBinaries")
			}
			paths := tc.config.LookupPath("/bin/a")
			var hashes []string
			for _, b := range paths {
				hashes = append(hashes, b.Hash)
			}
			if diff := cmp.Diff([]string{hashA, hashB, hashA}, hashes); diff != "" {
				t.Errorf("LookupPath(/bin/a) hashes mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("stale index", func(t *testing.T) {
		// The index of c no longer matches the resliced entries, so Lookup
		// must notice and scan instead of returning wrong positions.
		got := resliced.Lookup("/bin/a", hashA)
		if got == nil || !got.CanRead("second") {
			t.Errorf("Lookup(/bin/a, hashA) on resliced entries = %+v; want the entry reading %q", got, "second")
		}
		if got := resliced.LookupPath("/bin/b"); len(got) != 1 {
			t.Errorf("LookupPath(/bin/b) on resliced entries returned %d entries; want 1", len(got))
		}
	})
}
