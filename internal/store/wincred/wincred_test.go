package wincred

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/storetest"
)

// TestConformanceFake runs the conformance suite against the store logic
// over an in-memory Credential Manager with the real limits.
func TestConformanceFake(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(newFakeAPI()) }, storetest.Options{MaxValueSize: MaxValueSize})
}

func TestEscapeServiceRoundTrip(t *testing.T) {
	tests := []struct {
		service string
		want    string
	}{
		{service: "AgentSecrets", want: "AgentSecrets"},
		{service: "a:b", want: "a%3Ab"},
		{service: "x#1", want: "x%231"},
		{service: "all*", want: "all%2A"},
		{service: "100%", want: "100%25"},
		{service: "%3A", want: "%253A"},
		{service: "ünïcode", want: "ünïcode"},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			got := escapeService(tt.service)
			if got != tt.want {
				t.Errorf("escapeService(%q) = %q; want %q", tt.service, got, tt.want)
			}
			back, ok := unescapeService(got)
			if !ok || back != tt.service {
				t.Errorf("unescapeService(%q) = %q, %v; want %q, true", got, back, ok, tt.service)
			}
		})
	}
}

func TestUnescapeServiceRejectsForeign(t *testing.T) {
	for _, s := range []string{"a:b", "a#b", "a*", "%", "%4", "%zz", "%41", "%3a"} {
		if got, ok := unescapeService(s); ok {
			t.Errorf("unescapeService(%q) = %q, true; want false", s, got)
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name        string
		service     string
		target      string
		wantPrimary string
		wantChunk   string
		wantFilter  string
	}{
		{name: "plain", service: "AgentSecrets", target: "proj_123:dev:KEY", wantPrimary: "AgentSecrets:proj_123:dev:KEY", wantChunk: "AgentSecrets#0a1b.2:proj_123:dev:KEY", wantFilter: "AgentSecrets:*"},
		{name: "service with colon", service: "a:b", target: "c", wantPrimary: "a%3Ab:c", wantChunk: "a%3Ab#0a1b.2:c", wantFilter: "a%3Ab:*"},
		{name: "target with star", service: "s", target: "*", wantPrimary: "s:*", wantChunk: "s#0a1b.2:*", wantFilter: "s:*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := primaryName(tt.service, tt.target); got != tt.wantPrimary {
				t.Errorf("primaryName(%q, %q) = %q; want %q", tt.service, tt.target, got, tt.wantPrimary)
			}
			if got := chunkName(tt.service, tt.target, "0a1b", 2); got != tt.wantChunk {
				t.Errorf("chunkName(%q, %q, 0a1b, 2) = %q; want %q", tt.service, tt.target, got, tt.wantChunk)
			}
			if got := serviceFilter(tt.service); got != tt.wantFilter {
				t.Errorf("serviceFilter(%q) = %q; want %q", tt.service, got, tt.wantFilter)
			}
			svc, target, ok := parsePrimaryName(tt.wantPrimary)
			if !ok || svc != tt.service || target != tt.target {
				t.Errorf("parsePrimaryName(%q) = %q, %q, %v; want %q, %q, true", tt.wantPrimary, svc, target, ok, tt.service, tt.target)
			}
			if _, _, ok := parsePrimaryName(tt.wantChunk); ok {
				t.Errorf("parsePrimaryName(%q) ok = true for a chunk name; want false", tt.wantChunk)
			}
		})
	}
}

// TestFilterSeparatesServices checks that the enumeration of one service
// never returns a primary or a chunk of a service sharing its prefix.
func TestFilterSeparatesServices(t *testing.T) {
	filter := strings.TrimSuffix(serviceFilter("a"), "*")
	for _, name := range []string{
		primaryName("a:b", "t"), primaryName("ab", "t"), primaryName("a#", "t"),
		chunkName("a", "t", "ff", 1), chunkName("a:b", "t", "ff", 1),
	} {
		if strings.HasPrefix(name, filter) {
			t.Errorf("serviceFilter(a) matches %q", name)
		}
	}
}

func TestSplitValue(t *testing.T) {
	tests := []struct {
		name string
		size int
		want []int
	}{
		{name: "empty", size: 0, want: []int{0}},
		{name: "one byte", size: 1, want: []int{1}},
		{name: "exactly one blob", size: MaxBlobSize, want: []int{MaxBlobSize}},
		{name: "one byte over", size: MaxBlobSize + 1, want: []int{MaxBlobSize, 1}},
		{name: "three blobs", size: 3 * MaxBlobSize, want: []int{MaxBlobSize, MaxBlobSize, MaxBlobSize}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value := bytes.Repeat([]byte{'v'}, tt.size)
			var got []int
			for _, p := range splitValue(value, MaxBlobSize) {
				got = append(got, len(p))
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("splitValue(%d bytes) piece sizes mismatch (-want +got):\n%s", tt.size, d)
			}
		})
	}
}

func TestLargeValueChunks(t *testing.T) {
	api := newFakeAPI()
	s := newStore(api)
	ctx := context.Background()
	value := bytes.Repeat([]byte("0123456789"), 1000) // 10,000 bytes: 4 credentials

	if err := s.Put(ctx, "svc", []store.Item{{Target: "big", Value: value}}); err != nil {
		t.Fatalf("Put(10000 bytes) = %v", err)
	}
	if n := len(api.names()); n != 4 {
		t.Errorf("Put(10000 bytes) wrote %d credentials; want 4: %q", n, api.names())
	}

	// Rewriting with a smaller value removes the old version's chunks.
	if err := s.Put(ctx, "svc", []store.Item{{Target: "big", Value: value[:3000]}}); err != nil {
		t.Fatal(err)
	}
	if n := len(api.names()); n != 2 {
		t.Errorf("after rewrite with 3000 bytes: %d credentials; want 2: %q", n, api.names())
	}
	got, err := s.Get(ctx, "svc", []string{"big"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !bytes.Equal(got[0].Value, value[:3000]) {
		t.Errorf("Get(big) after rewrite returned %d items; want the 3000-byte value", len(got))
	}

	if err := s.Delete(ctx, "svc", []string{"big"}); err != nil {
		t.Fatal(err)
	}
	if names := api.names(); len(names) != 0 {
		t.Errorf("after Delete: credentials %q remain; want none", names)
	}
}

func TestMissingChunkIsError(t *testing.T) {
	api := newFakeAPI()
	s := newStore(api)
	ctx := context.Background()
	if err := s.Put(ctx, "svc", []store.Item{{Target: "big", Value: make([]byte, 6000)}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range api.names() {
		if strings.Contains(n, ".2:") {
			api.Delete(n)
		}
	}
	if _, err := s.Get(ctx, "svc", []string{"big"}); !errors.Is(err, errCorrupt) {
		t.Errorf("Get with a chunk missing = %v; want errCorrupt", err)
	}
	// Listing without values reads no chunk, so it still works.
	if items, err := s.List(ctx, "svc", store.Query{}); err != nil || len(items) != 1 {
		t.Errorf("List without values = %d items, %v; want 1, nil", len(items), err)
	}
}

func TestPutFailureRestores(t *testing.T) {
	api := newFakeAPI()
	s := newStore(api)
	ctx := context.Background()
	if err := s.Put(ctx, "svc", []store.Item{{Target: "a", Value: []byte("old-a")}, {Target: "big", Value: make([]byte, 5000)}}); err != nil {
		t.Fatal(err)
	}
	before := len(api.names())

	// The second primary write fails after the first one succeeded.
	api.failWrite = func(name string) bool { return name == "svc:b" }
	err := s.Put(ctx, "svc", []store.Item{
		{Target: "a", Value: []byte("new-a")},
		{Target: "b", Value: []byte("new-b")},
		{Target: "big", Value: make([]byte, 9000)},
	})
	if !errors.Is(err, errInjected) {
		t.Fatalf("Put with a failing write = %v; want the injected error", err)
	}
	api.failWrite = nil

	got, err := s.Get(ctx, "svc", []string{"a", "b", "big"})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Item{{Target: "a", Value: []byte("old-a")}, {Target: "big", Value: make([]byte, 5000)}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Get after failed Put mismatch (-want +got):\n%s", d)
	}
	if after := len(api.names()); after != before {
		t.Errorf("failed Put left %d credentials; want the %d from before: %q", after, before, api.names())
	}
}

func TestTargetsDifferingInCase(t *testing.T) {
	s := newStore(newFakeAPI())
	ctx := context.Background()
	if err := s.Put(ctx, "svc", []store.Item{{Target: "Key", Value: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "svc", []store.Item{{Target: "key", Value: []byte("2")}}); err == nil {
		t.Error("Put(key) over stored Key succeeded; want an error naming the case conflict")
	}
	got, err := s.Get(ctx, "svc", []string{"key", "Key"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]store.Item{{Target: "Key", Value: []byte("1")}}, got); d != "" {
		t.Errorf("Get(key, Key) mismatch (-want +got):\n%s", d)
	}
	if err := s.Delete(ctx, "svc", []string{"key"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "svc", []string{"Key"}); len(got) != 1 {
		t.Errorf("Delete(key) removed Key; want it kept")
	}
}

func TestForeignCredentialReadAsValue(t *testing.T) {
	api := newFakeAPI()
	api.Write(&credential{Name: "git:https://example.com", Blob: []byte("token")})
	s := newStore(api)
	got, err := s.List(context.Background(), "git", store.Query{WithValues: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]store.Item{{Target: "https://example.com", Value: []byte("token")}}, got); d != "" {
		t.Errorf("List(git) mismatch (-want +got):\n%s", d)
	}
}

func TestAttributeLimits(t *testing.T) {
	s := newStore(newFakeAPI())
	ctx := context.Background()
	big := map[string]string{"k": strings.Repeat("x", 5000)}
	if err := s.Put(ctx, "svc", []store.Item{{Target: "t", Value: []byte("v"), Attributes: big}}); err != nil {
		t.Fatalf("Put with 5000-byte attributes = %v; want nil", err)
	}
	got, err := s.Get(ctx, "svc", []string{"t"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Attributes["k"] != big["k"] {
		t.Errorf("Get(t) did not return the 5000-byte attribute")
	}

	tooBig := map[string]string{"k": strings.Repeat("x", maxAttributesJSON)}
	if err := s.Put(ctx, "svc", []store.Item{{Target: "u", Value: []byte("v"), Attributes: tooBig}}); err == nil {
		t.Error("Put with attributes above the limit succeeded; want an error")
	}
	if err := s.Put(ctx, "svc", []store.Item{{Target: "u", Value: make([]byte, MaxValueSize+1)}}); err == nil {
		t.Error("Put with a value above MaxValueSize succeeded; want an error")
	}
}

func TestMapError(t *testing.T) {
	base := errors.New("errno")
	tests := []struct {
		name     string
		code     uint32
		notFound bool
		contains string
	}{
		{name: "not found", code: errorNotFound, notFound: true},
		{name: "no logon session", code: errorNoSuchLogonSession, contains: "--backend vault"},
		{name: "invalid parameter", code: errorInvalidParameter, contains: "too long"},
		{name: "unknown", code: 31, contains: `read "svc:t": errno`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mapError("read", "svc:t", tt.code, base)
			if got := errors.Is(err, store.ErrNotFound); got != tt.notFound {
				t.Errorf("mapError(%d) is ErrNotFound = %v; want %v", tt.code, got, tt.notFound)
			}
			if tt.contains != "" && !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("mapError(%d) = %q; want it to contain %q", tt.code, err, tt.contains)
			}
		})
	}
}
