// Command go-client is the documented example of the keychain-auth Go
// client. It stores three secrets of project proj_123 in the AgentSecrets
// service with one batch write, then reads back every development secret
// with one prefix read and prints each target and value.
//
// Register and grant the built binary before running it:
//
//	keychain-auth register ./go-client
//	keychain-auth grant ./go-client --read AgentSecrets --write AgentSecrets --search
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/keychain-auth/keychain-auth/client"
)

const service = "AgentSecrets"

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "go-client: %v\n", explain(err))
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The zero Client dials the default endpoint, or KEYCHAIN_AUTH_SOCKET
	// when it is set.
	var c client.Client
	defer c.Close()

	err := c.Write(ctx, service, []client.Pair{
		{Target: "proj_123:development:DATABASE_URL", Value: "postgres://localhost:5432/dev"},
		{Target: "proj_123:development:API_KEY", Value: "dev-api-key-123"},
		{Target: "proj_123:staging:DATABASE_URL", Value: "postgres://staging.internal:5432/app"},
	}, client.WriteOptions{})
	if err != nil {
		return err
	}

	results, err := c.ReadPrefix(ctx, service, "proj_123:development:")
	if err != nil {
		return err
	}
	for _, r := range results {
		fmt.Printf("%s=%s\n", r.Target, r.Value)
	}
	return nil
}

// explain adds what the client's error cannot know: the rights this
// program needs. It also shows how a program branches on errors.Is.
func explain(err error) error {
	const rights = "--read AgentSecrets --write AgentSecrets --search"
	self := "<this program>"
	if exe, err := os.Executable(); err == nil {
		if p, err := filepath.EvalSymlinks(exe); err == nil {
			self = p
		}
	}
	switch {
	case errors.Is(err, client.ErrUnregistered):
		return fmt.Errorf("%w\nafter approving it, grant the rights it needs: keychain-auth grant %s %s", err, self, rights)
	case errors.Is(err, client.ErrServiceNotAllowed), errors.Is(err, client.ErrActionNotInPolicy):
		return fmt.Errorf("%w\nthis example needs: keychain-auth grant %s %s", err, self, rights)
	}
	return err
}
