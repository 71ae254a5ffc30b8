//go:build !windows

package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/keychain-auth/keychain-auth/client"
	"github.com/keychain-auth/keychain-auth/protocol"
)

var update = flag.Bool("update", false, "rewrite testdata/requests.jsonl from the client's output")

// requestFixture is the shared fixture of exact request lines. Other clients
// check their encoders against it.
const requestFixture = "testdata/requests.jsonl"

// fixtureEntry is one line of the fixture: a language-neutral description of
// the call and the exact request line it sends, newline included.
type fixtureEntry struct {
	Call string `json:"call"`
	Line string `json:"line"`
}

func TestRequestLinesMatchFixture(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		call string
		do   func(c *client.Client) error
	}{
		{
			call: `read service="AgentSecrets" targets=["proj_123:development:DATABASE_URL"]`,
			do: func(c *client.Client) error {
				_, err := c.Read(ctx, "AgentSecrets", "proj_123:development:DATABASE_URL")
				return err
			},
		},
		{
			call: `read service="AgentSecrets" targets=["proj_123:development:DATABASE_URL","proj_123:development:API_KEY"]`,
			do: func(c *client.Client) error {
				_, err := c.Read(ctx, "AgentSecrets", "proj_123:development:DATABASE_URL", "proj_123:development:API_KEY")
				return err
			},
		},
		{
			call: `read prefix service="AgentSecrets" prefixes=["proj_123:development:"]`,
			do: func(c *client.Client) error {
				_, err := c.ReadPrefix(ctx, "AgentSecrets", "proj_123:development:")
				return err
			},
		},
		{
			call: `read prefix service="aws" prefixes=["prod:","staging:"]`,
			do: func(c *client.Client) error {
				_, err := c.ReadPrefix(ctx, "aws", "prod:", "staging:")
				return err
			},
		},
		{
			call: `write service="AgentSecrets" pairs=[["proj_123:development:DATABASE_URL","postgres://dev"],["proj_123:development:API_KEY","key-dev"],["proj_123:staging:DATABASE_URL","postgres://staging"]]`,
			do: func(c *client.Client) error {
				return c.Write(ctx, "AgentSecrets", []client.Pair{
					{Target: "proj_123:development:DATABASE_URL", Value: "postgres://dev"},
					{Target: "proj_123:development:API_KEY", Value: "key-dev"},
					{Target: "proj_123:staging:DATABASE_URL", Value: "postgres://staging"},
				}, client.WriteOptions{})
			},
		},
		{
			call: `write service="aws" pairs=[["prod:token","t0k"]] attributes={"owner":"ci","env":"prod","Env":"x"}`,
			do: func(c *client.Client) error {
				return c.Write(ctx, "aws", []client.Pair{{Target: "prod:token", Value: "t0k"}},
					client.WriteOptions{Attributes: map[string]string{"owner": "ci", "env": "prod", "Env": "x"}})
			},
		},
		{
			call: `write service="AgentSecrets" pairs=[["quote\"backslash\\","line\nbreak\ttab\rreturn"]]`,
			do: func(c *client.Client) error {
				return c.Write(ctx, "AgentSecrets", []client.Pair{{Target: "quote\"backslash\\", Value: "line\nbreak\ttab\rreturn"}}, client.WriteOptions{})
			},
		},
		{
			call: `write service="AgentSecrets" pairs=[["control","\u0000\u0001\u0008\u000c\u001f\u007f"]]`,
			do: func(c *client.Client) error {
				return c.Write(ctx, "AgentSecrets", []client.Pair{{Target: "control", Value: "\x00\x01\b\f\x1f\x7f"}}, client.WriteOptions{})
			},
		},
		{
			call: `write service="AgentSecrets" pairs=[["unicode:é","naïve ☃ 😀 \u2028 \u2029 </script>"]]`,
			do: func(c *client.Client) error {
				return c.Write(ctx, "AgentSecrets", []client.Pair{{Target: "unicode:é", Value: "naïve ☃ 😀 \u2028 \u2029 </script>"}}, client.WriteOptions{})
			},
		},
		{
			call: `write service="AgentSecrets" pairs=[["empty",""]]`,
			do: func(c *client.Client) error {
				return c.Write(ctx, "AgentSecrets", []client.Pair{{Target: "empty", Value: ""}}, client.WriteOptions{})
			},
		},
		{
			call: `delete service="AgentSecrets" targets=["proj_123:staging:DATABASE_URL"]`,
			do: func(c *client.Client) error {
				return c.Delete(ctx, "AgentSecrets", "proj_123:staging:DATABASE_URL")
			},
		},
		{
			call: `delete prefix service="AgentSecrets" prefixes=["proj_123:"]`,
			do: func(c *client.Client) error {
				return c.DeletePrefix(ctx, "AgentSecrets", "proj_123:")
			},
		},
		{
			call: `search service="AgentSecrets"`,
			do: func(c *client.Client) error {
				_, err := c.Search(ctx, "AgentSecrets", client.SearchOptions{})
				return err
			},
		},
		{
			call: `search service="AgentSecrets" prefixes=["proj_123:development:","proj_123:staging:"]`,
			do: func(c *client.Client) error {
				_, err := c.Search(ctx, "AgentSecrets", client.SearchOptions{Prefixes: []string{"proj_123:development:", "proj_123:staging:"}})
				return err
			},
		},
		{
			call: `search service="AgentSecrets" prefixes=["proj_123:"] attributes={"team":"core","env":"development"}`,
			do: func(c *client.Client) error {
				_, err := c.Search(ctx, "AgentSecrets", client.SearchOptions{
					Prefixes:   []string{"proj_123:"},
					Attributes: map[string]string{"team": "core", "env": "development"},
				})
				return err
			},
		},
	}

	var mu sync.Mutex
	var lines []string
	srv := startServer(t, serveLines(func(_ *protocol.Request, line []byte) ([]byte, error) {
		mu.Lock()
		lines = append(lines, string(line)+"\n")
		mu.Unlock()
		return responseLine(&protocol.Response{Status: protocol.StatusSuccess}), nil
	}))
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()

	var got []fixtureEntry
	for _, tt := range tests {
		if err := tt.do(c); err != nil {
			t.Fatalf("%s: %v", tt.call, err)
		}
		mu.Lock()
		got = append(got, fixtureEntry{Call: tt.call, Line: lines[len(lines)-1]})
		mu.Unlock()
	}

	// Every line must also be a request the daemon's strict decoder accepts.
	for _, e := range got {
		if _, err := protocol.DecodeRequest([]byte(e.Line[:len(e.Line)-1])); err != nil {
			t.Errorf("%s: DecodeRequest(%q) = %v", e.Call, e.Line, err)
		}
	}

	if *update {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for _, e := range got {
			if err := enc.Encode(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.FromSlash(requestFixture), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	want := readFixture(t)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request lines differ from %s (-want +got); rerun with -update if the change is intended:\n%s", requestFixture, diff)
	}
}

func readFixture(t *testing.T) []fixtureEntry {
	t.Helper()
	data, err := os.ReadFile(filepath.FromSlash(requestFixture))
	if err != nil {
		t.Fatal(err)
	}
	var entries []fixtureEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	for dec.More() {
		var e fixtureEntry
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("parse %s: %v", requestFixture, err)
		}
		entries = append(entries, e)
	}
	return entries
}
