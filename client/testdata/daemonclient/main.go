// Command daemonclient drives the client for TestRealDaemon. It reads one
// JSON command per line on stdin, runs it with a single long-lived Client
// dialed to the socket named by its argument, and writes one JSON reply per
// line on stdout. The daemon identifies this binary, so the test can register
// and grant it.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/keychain-auth/keychain-auth/client"
	"github.com/keychain-auth/keychain-auth/protocol"
)

// command is one call to make. Method is read, read-prefix, write, delete,
// delete-prefix, search or do.
type command struct {
	Method     string            `json:"method"`
	Service    string            `json:"service"`
	Action     string            `json:"action,omitempty"`
	Match      string            `json:"match,omitempty"`
	Targets    []string          `json:"targets,omitempty"`
	Values     []string          `json:"values,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

type result struct {
	Target     string            `json:"target"`
	Value      *string           `json:"value,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// reply is the outcome of one command. Error is the name of the sentinel the
// error matches, "other" for any other error, or empty on success.
type reply struct {
	Results []result `json:"results,omitempty"`
	Error   string   `json:"error,omitempty"`
	Message string   `json:"message,omitempty"`
	Hash    string   `json:"hash,omitempty"`
}

var sentinels = []struct {
	name string
	err  error
}{
	{"ErrUnregistered", client.ErrUnregistered},
	{"ErrServiceNotAllowed", client.ErrServiceNotAllowed},
	{"ErrActionNotInPolicy", client.ErrActionNotInPolicy},
	{"ErrMalformedRequest", client.ErrMalformedRequest},
	{"ErrInternal", client.ErrInternal},
	{"ErrDaemonNotRunning", client.ErrDaemonNotRunning},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: daemonclient SOCKET")
		os.Exit(2)
	}
	c := client.New(client.Options{Socket: os.Args[1]})
	defer c.Close()

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(nil, protocol.MaxLineSize)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var cmd command
		if err := json.Unmarshal(in.Bytes(), &cmd); err != nil {
			fmt.Fprintf(os.Stderr, "daemonclient: decode command: %v\n", err)
			os.Exit(1)
		}
		results, err := run(context.Background(), c, cmd)
		if err := out.Encode(makeReply(results, err)); err != nil {
			os.Exit(1)
		}
	}
}

func run(ctx context.Context, c *client.Client, cmd command) ([]protocol.Result, error) {
	switch cmd.Method {
	case "read":
		return c.Read(ctx, cmd.Service, cmd.Targets...)
	case "read-prefix":
		return c.ReadPrefix(ctx, cmd.Service, cmd.Targets...)
	case "write":
		pairs := make([]client.Pair, len(cmd.Targets))
		for i := range cmd.Targets {
			pairs[i] = client.Pair{Target: cmd.Targets[i], Value: cmd.Values[i]}
		}
		return nil, c.Write(ctx, cmd.Service, pairs, client.WriteOptions{Attributes: cmd.Attributes})
	case "delete":
		return nil, c.Delete(ctx, cmd.Service, cmd.Targets...)
	case "delete-prefix":
		return nil, c.DeletePrefix(ctx, cmd.Service, cmd.Targets...)
	case "search":
		return c.Search(ctx, cmd.Service, client.SearchOptions{Prefixes: cmd.Targets, Attributes: cmd.Attributes})
	case "do":
		resp, err := c.Do(ctx, &protocol.Request{
			Type:       protocol.TypeRequest,
			Action:     protocol.Action(cmd.Action),
			Service:    cmd.Service,
			Match:      protocol.Match(cmd.Match),
			Targets:    cmd.Targets,
			Values:     cmd.Values,
			Attributes: cmd.Attributes,
		})
		if err != nil {
			return nil, err
		}
		return resp.Results, nil
	}
	return nil, fmt.Errorf("unknown method %q", cmd.Method)
}

func makeReply(results []protocol.Result, err error) reply {
	var r reply
	for _, res := range results {
		out := result{Target: res.Target, Attributes: res.Attributes}
		if res.HasValue {
			out.Value = &res.Value
		}
		r.Results = append(r.Results, out)
	}
	if err == nil {
		return r
	}

	r.Error, r.Message = "other", err.Error()
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			r.Error = s.name
			break
		}
	}
	var e *client.Error
	if errors.As(err, &e) {
		r.Hash = e.Hash
	}
	return r
}
