// NOTE: the fake daemon listens on a Unix socket, which the Windows client
// does not dial, so these tests do not run on Windows.

//go:build !windows

package client_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/memory"
	"github.com/keychain-auth/keychain-auth/protocol"
)

// fakeServer listens on a Unix socket and runs handle for each connection.
type fakeServer struct {
	path     string
	listener net.Listener
	accepted atomic.Int32
	handle   func(conn net.Conn)

	wg sync.WaitGroup
	// mu guards conns.
	mu    sync.Mutex
	conns []net.Conn
}

// startServer starts a fake daemon on a socket in t.TempDir. Cleanup closes
// the listener and every connection, then waits for the handlers.
func startServer(t *testing.T, handle func(conn net.Conn)) *fakeServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.sock")
	s, err := listenFake(path, handle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}

func listenFake(path string, handle func(conn net.Conn)) (*fakeServer, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	s := &fakeServer{path: path, listener: ln, handle: handle}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *fakeServer) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.listener.Accept()
		if err != nil {
			return
		}
		s.accepted.Add(1)
		s.mu.Lock()
		s.conns = append(s.conns, conn)
		s.mu.Unlock()

		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			s.handle(conn)
		}()
	}
}

func (s *fakeServer) close() {
	s.listener.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// serveLines reads request lines and writes what respond returns for each.
// A nil return writes nothing; respond's error ends the connection.
func serveLines(respond func(req *protocol.Request, line []byte) ([]byte, error)) func(net.Conn) {
	return func(conn net.Conn) {
		reader := bufio.NewReader(conn)
		for {
			line, err := protocol.ReadLine(reader)
			if err != nil {
				return
			}
			req, err := protocol.DecodeRequest(line)
			if err != nil {
				req = nil
			}
			out, err := respond(req, line)
			if err != nil {
				return
			}
			if _, err := conn.Write(out); err != nil {
				return
			}
		}
	}
}

// responseLine encodes a response as the daemon would.
func responseLine(resp *protocol.Response) []byte {
	return protocol.AppendResponse(nil, resp)
}

// storeHandler serves the protocol from an in-memory store with no policy,
// for tests and examples that need real reads and writes.
func storeHandler(st store.Store) func(net.Conn) {
	return serveLines(func(req *protocol.Request, _ []byte) ([]byte, error) {
		if req == nil {
			return responseLine(&protocol.Response{Status: protocol.StatusError, Reason: protocol.ReasonMalformedRequest}), nil
		}
		resp, err := applyToStore(context.Background(), st, req)
		if err != nil {
			return responseLine(&protocol.Response{Status: protocol.StatusError, Reason: protocol.ReasonInternalError}), nil
		}
		return responseLine(resp), nil
	})
}

func applyToStore(ctx context.Context, st store.Store, req *protocol.Request) (*protocol.Response, error) {
	var items []store.Item
	var err error
	switch {
	case req.Action == protocol.ActionRead && req.Match == protocol.MatchExact:
		items, err = st.Get(ctx, req.Service, req.Targets)
	case req.Action == protocol.ActionRead:
		items, err = st.List(ctx, req.Service, store.Query{Prefixes: req.Targets, Attributes: req.Attributes, WithValues: true})
	case req.Action == protocol.ActionSearch:
		items, err = st.List(ctx, req.Service, store.Query{Prefixes: req.Targets, Attributes: req.Attributes})
	case req.Action == protocol.ActionWrite:
		batch := make([]store.Item, len(req.Targets))
		for i := range req.Targets {
			batch[i] = store.Item{Target: req.Targets[i], Value: []byte(req.Values[i]), Attributes: req.Attributes}
		}
		err = st.Put(ctx, req.Service, batch)
	case req.Action == protocol.ActionDelete && req.Match == protocol.MatchExact:
		err = st.Delete(ctx, req.Service, req.Targets)
	case req.Action == protocol.ActionDelete:
		items, err = st.List(ctx, req.Service, store.Query{Prefixes: req.Targets})
		if err == nil {
			targets := make([]string, len(items))
			for i, it := range items {
				targets[i] = it.Target
			}
			items = nil
			err = st.Delete(ctx, req.Service, targets)
		}
	default:
		err = errors.New("unsupported request")
	}
	if err != nil {
		return nil, err
	}

	resp := &protocol.Response{Status: protocol.StatusSuccess}
	for _, it := range items {
		r := protocol.Result{Target: it.Target, Attributes: it.Attributes}
		if it.Value != nil {
			r.Value, r.HasValue = string(it.Value), true
		}
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}

// newStoreServer starts a fake daemon backed by a fresh memory store.
func newStoreServer(t *testing.T) *fakeServer {
	t.Helper()
	return startServer(t, storeHandler(memory.New()))
}

// drain reads until the peer closes, so a handler can wait for the client.
func drain(conn net.Conn) { io.Copy(io.Discard, conn) }

// fileHash returns "sha256:" and the hex SHA-256 of the file at path.
func fileHash(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
