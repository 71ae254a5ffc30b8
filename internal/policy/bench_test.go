package policy

import (
	"testing"

	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/paths"
	"github.com/keychain-auth/keychain-auth/protocol"
)

// BenchmarkAuthorize measures the per-request policy check for an entry
// with several services, the requested one last.
func BenchmarkAuthorize(b *testing.B) {
	entry := &config.Binary{
		AllowedReadServices:  []string{"aws", "gcp", "azure", "github", "bench"},
		AllowedWriteServices: []string{"aws", "bench"},
		CanSearch:            config.SearchRight{Services: []string{"gcp", "bench"}},
	}
	tests := []struct {
		name string
		req  protocol.Request
	}{
		{"exact read", protocol.Request{Action: protocol.ActionRead, Match: protocol.MatchExact, Service: "bench"}},
		{"prefix read", protocol.Request{Action: protocol.ActionRead, Match: protocol.MatchPrefix, Service: "bench"}},
		{"denied write", protocol.Request{Action: protocol.ActionWrite, Match: protocol.MatchExact, Service: "github"}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Authorize(entry, Caller{UID: 1000, Mode: paths.ModeUser}, &tt.req)
			}
		})
	}
}
