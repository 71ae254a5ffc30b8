package policy

import (
	"testing"

	"github.com/keychain-auth/keychain-auth/internal/config"
	"github.com/keychain-auth/keychain-auth/paths"
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
			got := Authorize(tt.entry, Caller{UID: 1000, Mode: paths.ModeUser}, tt.req)
			if got.Reason != tt.want || got.Allowed != (tt.want == ok) {
				t.Errorf("Authorize(%s %s %q) = %+v; want reason %q", tt.req.Action, tt.req.Match, tt.req.Service, got, tt.want)
			}
		})
	}
}

func TestAuthorizeUIDs(t *testing.T) {
	rights := func(uids ...uint32) *config.Binary {
		return &config.Binary{
			AllowedReadServices: []string{"aws"},
			UIDs:                uids,
		}
	}
	read := &protocol.Request{Type: protocol.TypeRequest, Action: protocol.ActionRead, Match: protocol.MatchExact, Service: "aws"}
	tests := []struct {
		name  string
		entry *config.Binary
		mode  paths.Mode
		uid   uint32
		want  bool
	}{
		{name: "user mode empty list serves owner", entry: rights(), mode: paths.ModeUser, uid: 1000, want: true},
		{name: "system mode empty list serves nobody", entry: rights(), mode: paths.ModeSystem, uid: 1000, want: false},
		{name: "system mode empty list denies root", entry: rights(), mode: paths.ModeSystem, uid: 0, want: false},
		{name: "system mode listed uid", entry: rights(1000, 1001), mode: paths.ModeSystem, uid: 1001, want: true},
		{name: "system mode unlisted uid", entry: rights(1000, 1001), mode: paths.ModeSystem, uid: 1002, want: false},
		{name: "user mode list is enforced", entry: rights(1001), mode: paths.ModeUser, uid: 1000, want: false},
		{name: "user mode listed uid", entry: rights(1000), mode: paths.ModeUser, uid: 1000, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ServesUID(tt.entry, tt.mode, tt.uid); got != tt.want {
				t.Errorf("ServesUID(uids %v, %s, %d) = %t; want %t", tt.entry.UIDs, tt.mode, tt.uid, got, tt.want)
			}
			got := Authorize(tt.entry, Caller{UID: tt.uid, Mode: tt.mode}, read)
			if got.Allowed != tt.want {
				t.Errorf("Authorize(uids %v, %s, uid %d) = %+v; want allowed %t", tt.entry.UIDs, tt.mode, tt.uid, got, tt.want)
			}
			if !tt.want && got.Reason != protocol.ReasonServiceNotAllowed {
				t.Errorf("Authorize(uids %v, %s, uid %d).Reason = %q; want %q", tt.entry.UIDs, tt.mode, tt.uid, got.Reason, protocol.ReasonServiceNotAllowed)
			}
		})
	}
}
