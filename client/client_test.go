//go:build !windows

package client_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/keychain-auth/keychain-auth/client"
	"github.com/keychain-auth/keychain-auth/paths"
	"github.com/keychain-auth/keychain-auth/protocol"
)

const service = "AgentSecrets"

// echoResponse answers a read with one result per target whose value names
// the target, so a test can tell which request a response belongs to.
func echoResponse(req *protocol.Request) []byte {
	resp := &protocol.Response{Status: protocol.StatusSuccess}
	for _, t := range req.Targets {
		resp.Results = append(resp.Results, protocol.Result{Target: t, Value: "value of " + t, HasValue: true})
	}
	return responseLine(resp)
}

func echoHandler() func(net.Conn) {
	return serveLines(func(req *protocol.Request, _ []byte) ([]byte, error) {
		return echoResponse(req), nil
	})
}

func wantEcho(targets ...string) []protocol.Result {
	var out []protocol.Result
	for _, t := range targets {
		out = append(out, protocol.Result{Target: t, Value: "value of " + t, HasValue: true})
	}
	return out
}

func TestRoundTripEveryMethod(t *testing.T) {
	srv := newStoreServer(t)
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()
	ctx := context.Background()

	attrs := map[string]string{"env": "development"}
	err := c.Write(ctx, service, client.Pairs(map[string]string{
		"proj_123:development:DATABASE_URL": "postgres://localhost/dev",
		"proj_123:development:API_KEY":      "key-dev",
	}), client.WriteOptions{Attributes: attrs})
	if err != nil {
		t.Fatalf("Write = %v", err)
	}
	err = c.Write(ctx, service, []client.Pair{{Target: "proj_123:staging:DATABASE_URL", Value: "postgres://localhost/staging"}}, client.WriteOptions{})
	if err != nil {
		t.Fatalf("Write = %v", err)
	}

	got, err := c.Read(ctx, service, "proj_123:staging:DATABASE_URL", "missing", "proj_123:development:API_KEY")
	if err != nil {
		t.Fatalf("Read = %v", err)
	}
	want := []protocol.Result{
		{Target: "proj_123:staging:DATABASE_URL", Value: "postgres://localhost/staging", HasValue: true},
		{Target: "proj_123:development:API_KEY", Value: "key-dev", HasValue: true, Attributes: attrs},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read results (-want +got):\n%s", diff)
	}

	got, err = c.ReadPrefix(ctx, service, "proj_123:development:")
	if err != nil {
		t.Fatalf("ReadPrefix = %v", err)
	}
	want = []protocol.Result{
		{Target: "proj_123:development:API_KEY", Value: "key-dev", HasValue: true, Attributes: attrs},
		{Target: "proj_123:development:DATABASE_URL", Value: "postgres://localhost/dev", HasValue: true, Attributes: attrs},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadPrefix results (-want +got):\n%s", diff)
	}

	got, err = c.Search(ctx, service, client.SearchOptions{Attributes: attrs})
	if err != nil {
		t.Fatalf("Search = %v", err)
	}
	want = []protocol.Result{
		{Target: "proj_123:development:API_KEY", Attributes: attrs},
		{Target: "proj_123:development:DATABASE_URL", Attributes: attrs},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Search results (-want +got):\n%s", diff)
	}

	if err := c.Delete(ctx, service, "proj_123:staging:DATABASE_URL", "missing"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if err := c.DeletePrefix(ctx, service, "proj_123:development:"); err != nil {
		t.Fatalf("DeletePrefix = %v", err)
	}
	got, err = c.Search(ctx, service, client.SearchOptions{})
	if err != nil {
		t.Fatalf("Search = %v", err)
	}
	if len(got) != 0 {
		t.Errorf("Search after deletes = %v; want no results", got)
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d connections; want 1 for all calls", n)
	}
}

func TestResponseSplitAcrossReads(t *testing.T) {
	// The server writes each response a few bytes at a time, pausing so
	// that the client sees several short reads.
	srv := startServer(t, func(conn net.Conn) {
		reader := bufio.NewReader(conn)
		for {
			line, err := protocol.ReadLine(reader)
			if err != nil {
				return
			}
			req, err := protocol.DecodeRequest(line)
			if err != nil {
				return
			}
			out := echoResponse(req)
			for len(out) > 0 {
				n := min(7, len(out))
				if _, err := conn.Write(out[:n]); err != nil {
					return
				}
				out = out[n:]
				time.Sleep(time.Millisecond)
			}
		}
	})
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()

	for i := range 3 {
		target := fmt.Sprintf("proj_123:development:KEY_%d", i)
		got, err := c.Read(context.Background(), service, target)
		if err != nil {
			t.Fatalf("Read(%q) = %v", target, err)
		}
		if diff := cmp.Diff(wantEcho(target), got); diff != "" {
			t.Errorf("Read(%q) results (-want +got):\n%s", target, diff)
		}
	}
}

func TestTwoResponsesInOneRead(t *testing.T) {
	// The server answers the first request with both responses in one
	// write and the second request with nothing: the second response must
	// come from the client's buffer.
	srv := startServer(t, func(conn net.Conn) {
		reader := bufio.NewReader(conn)
		if _, err := protocol.ReadLine(reader); err != nil {
			return
		}
		both := append(echoResponse(&protocol.Request{Targets: []string{"first"}}),
			echoResponse(&protocol.Request{Targets: []string{"second"}})...)
		if _, err := conn.Write(both); err != nil {
			return
		}
		drain(conn)
	})
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()
	ctx := context.Background()

	got, err := c.Read(ctx, service, "first")
	if err != nil {
		t.Fatalf("first Read = %v", err)
	}
	if diff := cmp.Diff(wantEcho("first"), got); diff != "" {
		t.Errorf("first Read results (-want +got):\n%s", diff)
	}
	got, err = c.Read(ctx, service, "second")
	if err != nil {
		t.Fatalf("second Read = %v", err)
	}
	if diff := cmp.Diff(wantEcho("second"), got); diff != "" {
		t.Errorf("second Read results (-want +got):\n%s", diff)
	}
}

func TestOversizeResponseClosesConnection(t *testing.T) {
	closed := make(chan struct{})
	srv := startServer(t, func(conn net.Conn) {
		reader := bufio.NewReader(conn)
		line, err := protocol.ReadLine(reader)
		if err != nil {
			return
		}
		req, err := protocol.DecodeRequest(line)
		if err != nil {
			return
		}
		if req.Targets[0] != "huge" {
			conn.Write(echoResponse(req))
			drain(conn)
			return
		}
		huge := protocol.AppendResponse(nil, &protocol.Response{
			Status:  protocol.StatusSuccess,
			Results: []protocol.Result{{Target: "huge", Value: strings.Repeat("x", protocol.MaxLineSize), HasValue: true}},
		})
		conn.Write(huge)
		// The client must close its end after rejecting the line.
		drain(conn)
		close(closed)
	})
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()
	ctx := context.Background()

	_, err := c.Read(ctx, service, "huge")
	if !errors.Is(err, protocol.ErrLineTooLong) {
		t.Fatalf("Read(huge) = %v; want an error wrapping protocol.ErrLineTooLong", err)
	}
	<-closed

	got, err := c.Read(ctx, service, "small")
	if err != nil {
		t.Fatalf("Read(small) after oversize response = %v", err)
	}
	if diff := cmp.Diff(wantEcho("small"), got); diff != "" {
		t.Errorf("Read(small) results (-want +got):\n%s", diff)
	}
	if n := srv.accepted.Load(); n != 2 {
		t.Errorf("server accepted %d connections; want 2 (the client redials)", n)
	}
}

func TestResponseAtSizeLimitAccepted(t *testing.T) {
	// A value sized so that the whole line is exactly MaxLineSize bytes.
	prefix := responseLine(&protocol.Response{
		Status:  protocol.StatusSuccess,
		Results: []protocol.Result{{Target: "big", HasValue: true}},
	})
	value := strings.Repeat("v", protocol.MaxLineSize-(len(prefix)-1))
	srv := startServer(t, serveLines(func(req *protocol.Request, _ []byte) ([]byte, error) {
		return responseLine(&protocol.Response{
			Status:  protocol.StatusSuccess,
			Results: []protocol.Result{{Target: "big", Value: value, HasValue: true}},
		}), nil
	}))
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()

	got, err := c.Read(context.Background(), service, "big")
	if err != nil {
		t.Fatalf("Read = %v; want a line of exactly MaxLineSize bytes accepted", err)
	}
	if len(got) != 1 || len(got[0].Value) != len(value) {
		t.Errorf("Read returned %d results; want 1 with a %d-byte value", len(got), len(value))
	}
}

func TestRequestOverSizeLimitNotSent(t *testing.T) {
	srv := newStoreServer(t)
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()

	value := strings.Repeat("s", protocol.MaxLineSize)
	err := c.Write(context.Background(), service, []client.Pair{{Target: "big", Value: value}}, client.WriteOptions{})
	if !errors.Is(err, protocol.ErrLineTooLong) {
		t.Fatalf("Write(1 MiB value) = %v; want an error wrapping protocol.ErrLineTooLong", err)
	}
	if n := srv.accepted.Load(); n != 0 {
		t.Errorf("server accepted %d connections; want 0 for a request rejected locally", n)
	}
}

func TestUnregisteredDenial(t *testing.T) {
	tests := []struct {
		name string
		// dialFirst connects with Dial and waits for the server to close
		// before the first call, so the request write fails.
		dialFirst bool
		// drainRequest makes the server wait for the request line before
		// closing, as the real daemon does.
		drainRequest bool
	}{
		{name: "write after server closed", dialFirst: true},
		{name: "server drains request", drainRequest: true},
		{name: "server closes at once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			closed := make(chan struct{}, 4)
			srv := startServer(t, func(conn net.Conn) {
				conn.Write([]byte(protocol.DenialUnregistered))
				if tt.drainRequest {
					bufio.NewReader(conn).ReadString('\n')
				}
				conn.Close()
				closed <- struct{}{}
			})
			ctx := context.Background()

			var c *client.Client
			if tt.dialFirst {
				var err error
				c, err = client.Dial(ctx, client.Options{Socket: srv.path})
				if err != nil {
					t.Fatalf("Dial = %v; want success, the denial comes with the first call", err)
				}
				<-closed
			} else {
				c = client.New(client.Options{Socket: srv.path})
			}
			defer c.Close()

			_, err := c.Read(ctx, service, "proj_123:development:API_KEY")
			if !errors.Is(err, client.ErrUnregistered) {
				t.Fatalf("Read = %v; want ErrUnregistered", err)
			}
			var denial *client.Error
			if !errors.As(err, &denial) {
				t.Fatalf("Read error %T is not a *client.Error", err)
			}
			exe, exeErr := os.Executable()
			if exeErr != nil {
				t.Fatal(exeErr)
			}
			wantHash := fileHash(t, exe)
			if denial.Hash != wantHash {
				t.Errorf("Error.Hash = %q; want %q", denial.Hash, wantHash)
			}
			for _, want := range []string{"keychain-auth approve " + wantHash, "keychain-auth list-pending"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}

			// No automatic retry: one call, one connection. The next call
			// dials again and gets the denial again.
			if n := srv.accepted.Load(); n != 1 {
				t.Errorf("server accepted %d connections after one call; want 1", n)
			}
			if _, err := c.Read(ctx, service, "x"); !errors.Is(err, client.ErrUnregistered) {
				t.Errorf("second Read = %v; want ErrUnregistered", err)
			}
			if n := srv.accepted.Load(); n != 2 {
				t.Errorf("server accepted %d connections after two calls; want 2", n)
			}
		})
	}
}

func TestReasonCodesMapToSentinels(t *testing.T) {
	tests := []struct {
		reason protocol.Reason
		want   error
	}{
		{reason: protocol.ReasonUnregistered, want: client.ErrUnregistered},
		{reason: protocol.ReasonServiceNotAllowed, want: client.ErrServiceNotAllowed},
		{reason: protocol.ReasonActionNotInPolicy, want: client.ErrActionNotInPolicy},
		{reason: protocol.ReasonMalformedRequest, want: client.ErrMalformedRequest},
		{reason: protocol.ReasonInternalError, want: client.ErrInternal},
	}
	if len(tests) != len(protocol.Reasons) {
		t.Fatalf("table covers %d reason codes; protocol.Reasons has %d", len(tests), len(protocol.Reasons))
	}
	sentinels := []error{client.ErrUnregistered, client.ErrServiceNotAllowed, client.ErrActionNotInPolicy, client.ErrMalformedRequest, client.ErrInternal}

	for _, tt := range tests {
		t.Run(string(tt.reason), func(t *testing.T) {
			srv := startServer(t, serveLines(func(*protocol.Request, []byte) ([]byte, error) {
				return responseLine(&protocol.Response{Status: protocol.StatusOf(tt.reason), Reason: tt.reason}), nil
			}))
			c := client.New(client.Options{Socket: srv.path})
			defer c.Close()

			_, err := c.Read(context.Background(), service, "proj_123:development:API_KEY")
			for _, s := range sentinels {
				if got := errors.Is(err, s); got != (s == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %t; want %t", err, s, got, s == tt.want)
				}
			}
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not a *client.Error", err)
			}
			if e.Reason != tt.reason || e.Status != protocol.StatusOf(tt.reason) || e.Service != service || e.Action != protocol.ActionRead {
				t.Errorf("Error = %+v; want reason %q, status %q, service %q, action read", e, tt.reason, protocol.StatusOf(tt.reason), service)
			}
		})
	}

	t.Run("unknown code", func(t *testing.T) {
		srv := startServer(t, serveLines(func(*protocol.Request, []byte) ([]byte, error) {
			return []byte(`{"type":"RESPONSE","status":"denied","reason":"some_future_code"}` + "\n"), nil
		}))
		c := client.New(client.Options{Socket: srv.path})
		defer c.Close()

		_, err := c.Read(context.Background(), service, "t")
		var e *client.Error
		if !errors.As(err, &e) || e.Reason != "some_future_code" {
			t.Fatalf("Read = %v; want a *client.Error with reason some_future_code", err)
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				t.Errorf("errors.Is(%v, %v) = true for an unknown code", err, s)
			}
		}
	})
}

func TestDoReturnsResponseWithError(t *testing.T) {
	srv := startServer(t, serveLines(func(*protocol.Request, []byte) ([]byte, error) {
		return responseLine(&protocol.Response{Status: protocol.StatusError, Reason: protocol.ReasonMalformedRequest}), nil
	}))
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()

	// Do does not validate, so an invalid request reaches the daemon.
	resp, err := c.Do(context.Background(), &protocol.Request{Type: protocol.TypeRequest, Action: "rename", Service: service})
	if !errors.Is(err, client.ErrMalformedRequest) {
		t.Fatalf("Do(rename) = %v; want ErrMalformedRequest", err)
	}
	if resp == nil || resp.Reason != protocol.ReasonMalformedRequest {
		t.Errorf("Do(rename) response = %+v; want the daemon's malformed_request response", resp)
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d connections; want 1", n)
	}
}

func TestLocalValidation(t *testing.T) {
	srv := newStoreServer(t)
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()
	ctx := context.Background()
	const secret = "s3cr3t\xff"

	tests := []struct {
		name string
		call func() error
	}{
		{name: "read without targets", call: func() error { _, err := c.Read(ctx, service); return err }},
		{name: "read empty target", call: func() error { _, err := c.Read(ctx, service, ""); return err }},
		{name: "empty service", call: func() error { _, err := c.Read(ctx, "", "t"); return err }},
		{name: "write without pairs", call: func() error { return c.Write(ctx, service, nil, client.WriteOptions{}) }},
		{name: "delete prefix without prefixes", call: func() error { return c.DeletePrefix(ctx, service) }},
		{name: "value not UTF-8", call: func() error {
			return c.Write(ctx, service, []client.Pair{{Target: "t", Value: secret}}, client.WriteOptions{})
		}},
		{name: "target not UTF-8", call: func() error { _, err := c.Read(ctx, service, "t\xfe"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, client.ErrMalformedRequest) {
				t.Fatalf("call = %v; want ErrMalformedRequest", err)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q contains the value", err)
			}
		})
	}
	if n := srv.accepted.Load(); n != 0 {
		t.Errorf("server accepted %d connections; want 0 for requests rejected locally", n)
	}
}

func TestConcurrentCallsMatchResponses(t *testing.T) {
	srv := startServer(t, echoHandler())
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()

	const workers, calls = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				target := fmt.Sprintf("worker-%d-call-%d", w, i)
				got, err := c.Read(context.Background(), service, target)
				if err != nil {
					errs <- fmt.Errorf("Read(%q) = %w", target, err)
					continue
				}
				if diff := cmp.Diff(wantEcho(target), got); diff != "" {
					errs <- fmt.Errorf("Read(%q) results (-want +got):\n%s", target, diff)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d connections; want 1 shared by all goroutines", n)
	}
}

// hangingServer reads a request, reports it on received, then never answers.
func hangingServer(t *testing.T) (*fakeServer, chan struct{}) {
	t.Helper()
	received := make(chan struct{}, 8)
	srv := startServer(t, func(conn net.Conn) {
		reader := bufio.NewReader(conn)
		for {
			line, err := protocol.ReadLine(reader)
			if err != nil {
				return
			}
			req, err := protocol.DecodeRequest(line)
			if err != nil {
				return
			}
			if req.Targets[0] == "answer" {
				conn.Write(echoResponse(req))
				continue
			}
			received <- struct{}{}
		}
	})
	return srv, received
}

func TestCancelDuringCall(t *testing.T) {
	srv, received := hangingServer(t)
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-received
		cancel()
	}()
	_, err := c.Read(ctx, service, "hang")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with cancelled context = %v; want context.Canceled", err)
	}

	// The cancelled call left its response unread, so the client must use
	// a new connection.
	got, err := c.Read(context.Background(), service, "answer")
	if err != nil {
		t.Fatalf("Read after cancel = %v", err)
	}
	if diff := cmp.Diff(wantEcho("answer"), got); diff != "" {
		t.Errorf("Read after cancel (-want +got):\n%s", diff)
	}
	if n := srv.accepted.Load(); n != 2 {
		t.Errorf("server accepted %d connections; want 2", n)
	}
}

func TestDeadlineDuringCall(t *testing.T) {
	srv, _ := hangingServer(t)
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.Read(ctx, service, "hang")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read past deadline = %v; want context.DeadlineExceeded", err)
	}
	if _, err := c.Read(context.Background(), service, "answer"); err != nil {
		t.Fatalf("Read after deadline = %v", err)
	}
}

func TestCancelWhileWaitingForTurn(t *testing.T) {
	srv, received := hangingServer(t)
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()

	first, cancelFirst := context.WithCancel(context.Background())
	firstDone := make(chan error, 1)
	go func() {
		_, err := c.Read(first, service, "hang")
		firstDone <- err
	}()
	<-received

	// The first call holds the connection, so this one waits for its
	// turn and must return as soon as its context is cancelled.
	second, cancelSecond := context.WithCancel(context.Background())
	cancelSecond()
	if _, err := c.Read(second, service, "answer"); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting Read with cancelled context = %v; want context.Canceled", err)
	}

	cancelFirst()
	if err := <-firstDone; !errors.Is(err, context.Canceled) {
		t.Errorf("first Read = %v; want context.Canceled", err)
	}
}

func TestCloseInterruptsCall(t *testing.T) {
	srv, received := hangingServer(t)
	c := client.New(client.Options{Socket: srv.path})

	done := make(chan error, 1)
	go func() {
		_, err := c.Read(context.Background(), service, "hang")
		done <- err
	}()
	<-received
	if err := c.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := <-done; err == nil {
		t.Errorf("Read interrupted by Close = nil; want an error")
	}
	if _, err := c.Read(context.Background(), service, "answer"); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Read after Close = %v; want ErrClosed", err)
	}
}

func TestStaleConnectionResent(t *testing.T) {
	// The server answers one request per connection and then closes, as
	// the daemon does when a connection sits idle past its timeout.
	srv := startServer(t, func(conn net.Conn) {
		reader := bufio.NewReader(conn)
		line, err := protocol.ReadLine(reader)
		if err != nil {
			return
		}
		req, err := protocol.DecodeRequest(line)
		if err != nil {
			return
		}
		conn.Write(echoResponse(req))
	})
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()

	for _, target := range []string{"one", "two", "three"} {
		got, err := c.Read(context.Background(), service, target)
		if err != nil {
			t.Fatalf("Read(%q) = %v", target, err)
		}
		if diff := cmp.Diff(wantEcho(target), got); diff != "" {
			t.Errorf("Read(%q) results (-want +got):\n%s", target, diff)
		}
	}
	if n := srv.accepted.Load(); n != 3 {
		t.Errorf("server accepted %d connections; want 3", n)
	}
}

func TestFreshConnectionClosedNotResent(t *testing.T) {
	srv := startServer(t, func(conn net.Conn) {
		bufio.NewReader(conn).ReadString('\n')
	})
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()

	_, err := c.Read(context.Background(), service, "t")
	if err == nil || !strings.Contains(err.Error(), "connection closed by the daemon") {
		t.Fatalf("Read = %v; want a connection closed error", err)
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d connections; want 1 (no resend on a new connection)", n)
	}
}

func TestPartialResponseThenClose(t *testing.T) {
	srv := startServer(t, func(conn net.Conn) {
		bufio.NewReader(conn).ReadString('\n')
		conn.Write([]byte(`{"type":"RESPONSE","sta`))
	})
	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()

	_, err := c.Read(context.Background(), service, "t")
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Read = %v; want io.ErrUnexpectedEOF", err)
	}
}

func TestDaemonNotRunning(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.sock")

	// A socket file with no listener behind it refuses connections.
	refusing := filepath.Join(dir, "refusing.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: refusing, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()

	for _, socket := range []string{missing, refusing} {
		t.Run(filepath.Base(socket), func(t *testing.T) {
			c := client.New(client.Options{Socket: socket})
			defer c.Close()

			_, err := c.Read(context.Background(), service, "t")
			if !errors.Is(err, client.ErrDaemonNotRunning) {
				t.Fatalf("Read = %v; want ErrDaemonNotRunning", err)
			}
			for _, want := range []string{"keychain-auth start", fmt.Sprintf("%q", socket)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %s", err, want)
				}
			}

			if _, err := client.Dial(context.Background(), client.Options{Socket: socket}); !errors.Is(err, client.ErrDaemonNotRunning) {
				t.Errorf("Dial = %v; want ErrDaemonNotRunning", err)
			}
		})
	}
}

func TestZeroClientUsesEnvironmentSocket(t *testing.T) {
	srv := startServer(t, echoHandler())
	t.Setenv(paths.EnvSocket, srv.path)

	var c client.Client
	defer c.Close()
	got, err := c.Read(context.Background(), service, "t")
	if err != nil {
		t.Fatalf("Read = %v", err)
	}
	if diff := cmp.Diff(wantEcho("t"), got); diff != "" {
		t.Errorf("Read results (-want +got):\n%s", diff)
	}
}

func TestExplicitSocketBeatsEnvironment(t *testing.T) {
	srv := startServer(t, echoHandler())
	t.Setenv(paths.EnvSocket, filepath.Join(t.TempDir(), "other.sock"))

	c := client.New(client.Options{Socket: srv.path})
	defer c.Close()
	if _, err := c.Read(context.Background(), service, "t"); err != nil {
		t.Fatalf("Read = %v; want the explicit socket used", err)
	}
}

func TestDialCancelled(t *testing.T) {
	srv := startServer(t, echoHandler())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	if _, err := client.Dial(ctx, client.Options{Socket: srv.path}); !errors.Is(err, context.Canceled) {
		t.Errorf("Dial with cancelled context = %v; want context.Canceled", err)
	}
}

func TestPairsSortedByTarget(t *testing.T) {
	got := client.Pairs(map[string]string{"b": "2", "a": "1", "c": "3"})
	want := []client.Pair{{Target: "a", Value: "1"}, {Target: "b", Value: "2"}, {Target: "c", Value: "3"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Pairs (-want +got):\n%s", diff)
	}
}

func TestErrorMessagesNameNextStep(t *testing.T) {
	tests := []struct {
		err  *client.Error
		want string
	}{
		{
			err:  &client.Error{Action: protocol.ActionRead, Service: "aws", Status: protocol.StatusDenied, Reason: protocol.ReasonServiceNotAllowed},
			want: `read "aws": denied: service_not_allowed; grant it with "keychain-auth grant <path> --read aws"`,
		},
		{
			err:  &client.Error{Action: protocol.ActionDelete, Service: "aws", Status: protocol.StatusDenied, Reason: protocol.ReasonServiceNotAllowed},
			want: `delete "aws": denied: service_not_allowed; grant it with "keychain-auth grant <path> --write aws"`,
		},
		{
			err:  &client.Error{Action: protocol.ActionRead, Service: "aws", Status: protocol.StatusDenied, Reason: protocol.ReasonUnregistered},
			want: `read "aws": denied: unregistered_binary_pending_approval; this program is waiting for approval: review it with "keychain-auth list-pending", then run "keychain-auth approve <hash>"`,
		},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
	}
}
