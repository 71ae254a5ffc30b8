package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/keychain-auth/keychain-auth/protocol"
)

// Pair is one target and the value to store under it.
type Pair struct {
	Target string
	Value  string
}

// Pairs returns the entries of m sorted by target, so that the request line
// is the same on every run.
func Pairs(m map[string]string) []Pair {
	pairs := make([]Pair, 0, len(m))
	for target, value := range m {
		pairs = append(pairs, Pair{Target: target, Value: value})
	}
	slices.SortFunc(pairs, func(a, b Pair) int { return cmp.Compare(a.Target, b.Target) })
	return pairs
}

// WriteOptions holds the optional parts of a write.
type WriteOptions struct {
	// Attributes are stored with every written target.
	Attributes map[string]string
}

// SearchOptions selects the targets a search returns.
type SearchOptions struct {
	// Prefixes keeps targets that start with any of them; empty keeps all.
	Prefixes []string
	// Attributes keeps targets that carry every given key and value.
	Attributes map[string]string
}

// Read returns the targets of service that exist, with their values, in
// request order. Missing targets are left out.
func (c *Client) Read(ctx context.Context, service string, targets ...string) ([]protocol.Result, error) {
	return c.results(ctx, &protocol.Request{
		Action:  protocol.ActionRead,
		Service: service,
		Match:   protocol.MatchExact,
		Targets: targets,
	})
}

// ReadPrefix returns every target of service that starts with any of the
// prefixes, with values, in one round trip. It needs the read and search
// rights for service.
func (c *Client) ReadPrefix(ctx context.Context, service string, prefixes ...string) ([]protocol.Result, error) {
	return c.results(ctx, &protocol.Request{
		Action:  protocol.ActionRead,
		Service: service,
		Match:   protocol.MatchPrefix,
		Targets: prefixes,
	})
}

// Write stores every pair in service as one all-or-nothing batch. Values must
// be valid UTF-8 (see the package documentation).
func (c *Client) Write(ctx context.Context, service string, pairs []Pair, opts WriteOptions) error {
	req := &protocol.Request{
		Action:     protocol.ActionWrite,
		Service:    service,
		Match:      protocol.MatchExact,
		Targets:    make([]string, len(pairs)),
		Values:     make([]string, len(pairs)),
		Attributes: opts.Attributes,
	}
	for i, p := range pairs {
		req.Targets[i], req.Values[i] = p.Target, p.Value
	}
	_, err := c.results(ctx, req)
	return err
}

// Delete removes the targets from service. Missing targets are not an error.
func (c *Client) Delete(ctx context.Context, service string, targets ...string) error {
	_, err := c.results(ctx, &protocol.Request{
		Action:  protocol.ActionDelete,
		Service: service,
		Match:   protocol.MatchExact,
		Targets: targets,
	})
	return err
}

// DeletePrefix removes every target of service that starts with any of the
// prefixes. It needs the write and search rights for service.
func (c *Client) DeletePrefix(ctx context.Context, service string, prefixes ...string) error {
	_, err := c.results(ctx, &protocol.Request{
		Action:  protocol.ActionDelete,
		Service: service,
		Match:   protocol.MatchPrefix,
		Targets: prefixes,
	})
	return err
}

// Search returns the targets of service selected by opts, sorted by target,
// with their attributes and never their values.
func (c *Client) Search(ctx context.Context, service string, opts SearchOptions) ([]protocol.Result, error) {
	req := &protocol.Request{
		Action:     protocol.ActionSearch,
		Service:    service,
		Match:      protocol.MatchExact,
		Attributes: opts.Attributes,
	}
	if len(opts.Prefixes) > 0 {
		req.Targets = opts.Prefixes
	}
	return c.results(ctx, req)
}

// results validates req locally, so a mistake in the caller's code is
// reported without a round trip, then sends it.
func (c *Client) results(ctx context.Context, req *protocol.Request) ([]protocol.Result, error) {
	req.Type = protocol.TypeRequest
	if err := validate(req); err != nil {
		return nil, fmt.Errorf("%s %q: %w: %s", req.Action, req.Service, ErrMalformedRequest, err)
	}

	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.Results, nil
}

// validate applies the daemon's request rules and rejects strings that are
// not valid UTF-8, which the JSON encoding would otherwise replace. Its
// messages name fields and indexes, never values.
func validate(req *protocol.Request) error {
	if err := protocol.Validate(req); err != nil {
		var decodeErr *protocol.DecodeError
		if errors.As(err, &decodeErr) {
			return errors.New(decodeErr.Msg)
		}
		return err
	}

	if !utf8.ValidString(req.Service) {
		return errors.New("service is not valid UTF-8")
	}
	for i, t := range req.Targets {
		if !utf8.ValidString(t) {
			return fmt.Errorf("targets[%d] is not valid UTF-8", i)
		}
	}
	for i, v := range req.Values {
		if !utf8.ValidString(v) {
			return fmt.Errorf("values[%d] is not valid UTF-8", i)
		}
	}
	for k, v := range req.Attributes {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return errors.New("attributes contain a key or value that is not valid UTF-8")
		}
	}
	return nil
}
