package vault

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	bolt "go.etcd.io/bbolt"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

func testAEADKey() []byte {
	return bytes.Repeat([]byte{7}, keySize)
}

func TestPayloadRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		value []byte
		attrs map[string]string
	}{
		{name: "Empty", value: []byte{}},
		{name: "ValueOnly", value: []byte("secret")},
		{name: "Attributes", value: []byte("v"), attrs: map[string]string{"b": "2", "a": "1", "": "empty key"}},
		{name: "BinaryValue", value: []byte{0, 1, 2, 0xff}, attrs: map[string]string{"k": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, attrs, err := decodePayload(encodePayload(tt.value, tt.attrs))
			if err != nil {
				t.Fatalf("decodePayload = %v", err)
			}
			if !bytes.Equal(value, tt.value) {
				t.Errorf("decoded value = %x; want %x", value, tt.value)
			}
			if d := cmp.Diff(tt.attrs, attrs, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("decoded attributes mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func FuzzDecodePayload(f *testing.F) {
	f.Add(encodePayload([]byte("v"), map[string]string{"a": "1"}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{2, 5, 'a'})
	f.Fuzz(func(t *testing.T, data []byte) {
		value, attrs, err := decodePayload(data)
		if err != nil {
			return
		}
		// Whatever decodes must encode to a payload that decodes the same.
		value2, attrs2, err := decodePayload(encodePayload(value, attrs))
		if err != nil {
			t.Fatalf("re-decode = %v", err)
		}
		if !bytes.Equal(value, value2) || !cmp.Equal(attrs, attrs2, cmpopts.EquateEmpty()) {
			t.Fatal("payload changed across encode and decode")
		}
	})
}

func TestAssociatedDataSeparatesNames(t *testing.T) {
	pairs := [][2]string{
		{"a:b", "c"},
		{"a", "b:c"},
		{"ab", "c"},
		{"a", "bc"},
	}
	seen := map[string][2]string{}
	for _, p := range pairs {
		ad := string(associatedData(domainRecord, p[0], p[1]))
		if other, ok := seen[ad]; ok {
			t.Errorf("associatedData(%q, %q) equals that of (%q, %q)", p[0], p[1], other[0], other[1])
		}
		seen[ad] = p
	}
	if bytes.Equal(associatedData(domainRecord, "", ""), associatedData(domainKeyCheck, "", "")) {
		t.Error("record and key check associated data are equal")
	}
}

func TestOpenRecordBinding(t *testing.T) {
	aead, err := newAEAD(testAEADKey())
	if err != nil {
		t.Fatal(err)
	}
	record := sealRecord(aead, "svc", "target", []byte("secret"), nil)

	tests := []struct {
		name    string
		service string
		target  string
		record  []byte
		wantErr bool
	}{
		{name: "SamePlace", service: "svc", target: "target", record: record},
		{name: "OtherTarget", service: "svc", target: "target2", record: record, wantErr: true},
		{name: "OtherService", service: "svc2", target: "target", record: record, wantErr: true},
		{name: "OtherVersion", service: "svc", target: "target", record: append([]byte{formatVersion + 1}, record[1:]...), wantErr: true},
		{name: "Empty", service: "svc", target: "target", record: nil, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, _, err := openRecord(aead, tt.service, tt.target, tt.record)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("openRecord(%q, %q) = nil error; want one", tt.service, tt.target)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("openRecord error %q contains the value", err)
				}
				return
			}
			if err != nil || string(value) != "secret" {
				t.Fatalf("openRecord(%q, %q) = %q, %v; want the sealed value", tt.service, tt.target, value, err)
			}
		})
	}
}

func TestNewAEADClearsKey(t *testing.T) {
	key := testAEADKey()
	if _, err := newAEAD(key); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key, make([]byte, keySize)) {
		t.Error("newAEAD left the key bytes in place")
	}
}

func TestDisjointPrefixes(t *testing.T) {
	tests := []struct {
		name     string
		prefixes []string
		want     []string
	}{
		{name: "None", prefixes: nil, want: []string{""}},
		{name: "EmptyCoversAll", prefixes: []string{"b", "", "a"}, want: []string{""}},
		{name: "Covered", prefixes: []string{"abc", "ab", "b", "ba"}, want: []string{"ab", "b"}},
		{name: "Duplicates", prefixes: []string{"x", "x"}, want: []string{"x"}},
		{name: "Disjoint", prefixes: []string{"c", "a"}, want: []string{"a", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, disjointPrefixes(tt.prefixes)); d != "" {
				t.Errorf("disjointPrefixes(%q) mismatch (-want +got):\n%s", tt.prefixes, d)
			}
		})
	}
}

// TestReadsReportRecordMovedWhileOpen moves a record after Open has checked
// the file, so Get and List meet it at read time.
func TestReadsReportRecordMovedWhileOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	v, err := Open(filepath.Join(dir, "vault.db"), KeyFile(filepath.Join(dir, "vault.key")))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	items := []store.Item{{Target: "a", Value: []byte("value-a")}, {Target: "b", Value: []byte("value-b")}}
	if err := v.Put(ctx, "svc", items); err != nil {
		t.Fatal(err)
	}

	err = v.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketServices).Bucket([]byte("svc"))
		return b.Put([]byte("b"), bytes.Clone(b.Get([]byte("a"))))
	})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := v.Get(ctx, "svc", []string{"b"}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get(b) = %v; want %v", err, ErrCorrupt)
	}
	if _, err := v.List(ctx, "svc", store.Query{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("List() = %v; want %v", err, ErrCorrupt)
	}
	got, err := v.Get(ctx, "svc", []string{"a"})
	if err != nil || len(got) != 1 {
		t.Errorf("Get(a) = %d items, %v; want the untouched record", len(got), err)
	}
}

func TestArgonParamsBounds(t *testing.T) {
	valid := argonParams{time: argonTime, memory: argonMemory, threads: argonThreads, salt: make([]byte, argonSaltLen)}
	tests := []struct {
		name    string
		params  []byte
		wantErr bool
	}{
		{name: "Defaults", params: valid.encode()},
		{name: "Empty", params: nil, wantErr: true},
		{name: "ShortSalt", params: valid.encode()[:15], wantErr: true},
		{name: "HugeMemory", params: argonParams{time: 1, memory: maxArgonMemory + 1, threads: 1, salt: valid.salt}.encode(), wantErr: true},
		{name: "ZeroTime", params: argonParams{time: 0, memory: argonMemory, threads: 1, salt: valid.salt}.encode(), wantErr: true},
		{name: "ZeroThreads", params: argonParams{time: 1, memory: argonMemory, threads: 0, salt: valid.salt}.encode(), wantErr: true},
		{name: "OtherVersion", params: append([]byte{kdfParamsVersion + 1}, valid.encode()[1:]...), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeArgonParams(tt.params)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Errorf("decodeArgonParams(%x) error = %v; want error %t", tt.params, err, tt.wantErr)
			}
		})
	}
}

func TestKeyFileModeAllowed(t *testing.T) {
	tests := []struct {
		name string
		goos string
		mode uint32
		want bool
	}{
		{name: "OwnerOnly", goos: "linux", mode: 0o600, want: true},
		{name: "OwnerReadOnly", goos: "darwin", mode: 0o400, want: true},
		{name: "GroupReadable", goos: "linux", mode: 0o640, want: false},
		{name: "WorldReadable", goos: "darwin", mode: 0o644, want: false},
		{name: "WindowsIgnoresBits", goos: "windows", mode: 0o666, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keyFileModeAllowed(tt.goos, fs.FileMode(tt.mode)); got != tt.want {
				t.Errorf("keyFileModeAllowed(%q, %04o) = %t; want %t", tt.goos, tt.mode, got, tt.want)
			}
		})
	}
}
