//go:build !windows

package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing"

	"github.com/keychain-auth/keychain-auth/client"
	"github.com/keychain-auth/keychain-auth/internal/store/memory"
	"github.com/keychain-auth/keychain-auth/paths"
	"github.com/keychain-auth/keychain-auth/protocol"
)

// TestMain starts a fake daemon backed by a memory store and points
// KEYCHAIN_AUTH_SOCKET at it, so the examples run as written.
func TestMain(m *testing.M) {
	os.Exit(runWithExampleServer(m))
}

func runWithExampleServer(m *testing.M) int {
	dir, err := os.MkdirTemp("", "client-example")
	if err != nil {
		log.Print(err)
		return 1
	}
	defer os.RemoveAll(dir)

	srv, err := listenFake(filepath.Join(dir, "agent.sock"), storeHandler(memory.New()))
	if err != nil {
		log.Print(err)
		return 1
	}
	defer srv.close()
	os.Setenv(paths.EnvSocket, srv.path)
	return m.Run()
}

// This program stores three secrets with one batch write and reads the
// development ones back with one prefix read.
func Example() {
	ctx := context.Background()

	// The zero Client dials KEYCHAIN_AUTH_SOCKET or the platform default.
	var c client.Client
	defer c.Close()

	err := c.Write(ctx, "AgentSecrets", []client.Pair{
		{Target: "proj_123:development:DATABASE_URL", Value: "postgres://localhost:5432/dev"},
		{Target: "proj_123:development:API_KEY", Value: "dev-api-key-123"},
		{Target: "proj_123:staging:DATABASE_URL", Value: "postgres://staging.internal:5432/app"},
	}, client.WriteOptions{})
	if err != nil {
		log.Fatal(err)
	}

	results, err := c.ReadPrefix(ctx, "AgentSecrets", "proj_123:development:")
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		fmt.Printf("%s=%s\n", r.Target, r.Value)
	}
	// Output:
	// proj_123:development:API_KEY=dev-api-key-123
	// proj_123:development:DATABASE_URL=postgres://localhost:5432/dev
}

func ExampleClient_Read() {
	ctx := context.Background()
	c := client.New(client.Options{})
	defer c.Close()

	if err := c.Write(ctx, "aws", client.Pairs(map[string]string{"prod:access_key": "AKIA-EXAMPLE"}), client.WriteOptions{}); err != nil {
		log.Fatal(err)
	}

	// Missing targets are left out of the results.
	results, err := c.Read(ctx, "aws", "prod:access_key", "prod:missing")
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		fmt.Println(r.Target, r.Value)
	}
	// Output:
	// prod:access_key AKIA-EXAMPLE
}

func ExampleClient_Search() {
	ctx := context.Background()
	c := client.New(client.Options{})
	defer c.Close()

	err := c.Write(ctx, "ci", client.Pairs(map[string]string{
		"deploy:token":  "t1",
		"deploy:signer": "t2",
		"build:cache":   "t3",
	}), client.WriteOptions{Attributes: map[string]string{"team": "infra"}})
	if err != nil {
		log.Fatal(err)
	}

	// Search returns names and attributes, never values.
	results, err := c.Search(ctx, "ci", client.SearchOptions{
		Prefixes:   []string{"deploy:"},
		Attributes: map[string]string{"team": "infra"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		fmt.Println(r.Target, r.HasValue)
	}
	// Output:
	// deploy:signer false
	// deploy:token false
}

func ExampleClient_Do() {
	ctx := context.Background()
	c := client.New(client.Options{})
	defer c.Close()

	// Do sends any request, here a read filtered by attribute, which the
	// typed methods do not offer.
	resp, err := c.Do(ctx, &protocol.Request{
		Type:       protocol.TypeRequest,
		Action:     protocol.ActionRead,
		Service:    "ci",
		Match:      protocol.MatchPrefix,
		Targets:    []string{"build:"},
		Attributes: map[string]string{"team": "infra"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, len(resp.Results))
	// Output:
	// success 1
}

// A program branches on the sentinel errors and prints the error, whose
// message names the command that fixes the problem.
func ExampleErrUnregistered() {
	ctx := context.Background()
	var c client.Client
	defer c.Close()

	_, err := c.Read(ctx, "AgentSecrets", "proj_123:development:API_KEY")
	switch {
	case errors.Is(err, client.ErrUnregistered):
		// The message names "keychain-auth approve sha256:…".
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	case errors.Is(err, client.ErrDaemonNotRunning):
		// The message names the socket and "keychain-auth start".
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	case err != nil:
		log.Fatal(err)
	}
}
