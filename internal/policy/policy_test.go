package policy

import (
	"testing"

	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/protocol"
)

func TestAuthorize(t *testing.T) {
	full := &config.Binary{
		AllowedReadServices:  []string{"aws"},
		AllowedWriteServices: []string{"aws"},
		CanSearch:            config.SearchRight{All: true},
	}
	readOnly := &config.Binary{AllowedReadServices: []string{"aws"}}
	searchList := &config.Binary{
		AllowedReadServices:  []string{"aws", "gcp"},
		AllowedWriteServices: []string{"aws", "gcp"},
		CanSearch:            config.SearchRight{Services: []string{"gcp"}},
	}
	req := func(a protocol.Action, m protocol.Match, svc string) *protocol.Request {
		return &protocol.Request{Type: protocol.TypeRequest, Action: a, Match: m, Service: svc}
	}
	const (
		ok       = protocol.Reason("")
		service  = protocol.ReasonServiceNotAllowed
		inPolicy = protocol.ReasonActionNotInPolicy
	)
	tests := []struct {
		name  string
		entry *config.Binary
		req   *protocol.Request
		want  protocol.Reason
	}{
		{"read granted", full, req(protocol.ActionRead, protocol.MatchExact, "aws"), ok},
		{"read other service", full, req(protocol.ActionRead, protocol.MatchExact, "gcp"), service},
		{"read service case differs", full, req(protocol.ActionRead, protocol.MatchExact, "AWS"), service},
		{"prefix read with search", full, req(protocol.ActionRead, protocol.MatchPrefix, "aws"), ok},
		{"prefix read without search", readOnly, req(protocol.ActionRead, protocol.MatchPrefix, "aws"), inPolicy},
		{"search without search", readOnly, req(protocol.ActionSearch, protocol.MatchExact, "aws"), inPolicy},
		{"search without read", &config.Binary{CanSearch: config.SearchRight{All: true}}, req(protocol.ActionSearch, protocol.MatchExact, "aws"), service},
		{"write without write", readOnly, req(protocol.ActionWrite, protocol.MatchExact, "aws"), service},
		{"write granted", full, req(protocol.ActionWrite, protocol.MatchExact, "aws"), ok},
		{"delete exact with write", full, req(protocol.ActionDelete, protocol.MatchExact, "aws"), ok},
		{"delete exact without write", readOnly, req(protocol.ActionDelete, protocol.MatchExact, "aws"), service},
		{"delete prefix without search", &config.Binary{AllowedWriteServices: []string{"aws"}}, req(protocol.ActionDelete, protocol.MatchPrefix, "aws"), inPolicy},
		{"search list covers service", searchList, req(protocol.ActionSearch, protocol.MatchExact, "gcp"), ok},
		{"search list misses service", searchList, req(protocol.ActionSearch, protocol.MatchExact, "aws"), inPolicy},
		{"removed entry", nil, req(protocol.ActionRead, protocol.MatchExact, "aws"), service},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Authorize(tt.entry, tt.req)
			if got.Reason != tt.want || got.Allowed != (tt.want == ok) {
				t.Errorf("Authorize(%s %s %q) = %+v; want reason %q", tt.req.Action, tt.req.Match, tt.req.Service, got, tt.want)
			}
		})
	}
}
