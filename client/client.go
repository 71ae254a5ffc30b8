package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/keychain-auth/keychain-auth/paths"
	"github.com/keychain-auth/keychain-auth/protocol"
)

// Options configures a Client.
type Options struct {
	// Socket is the endpoint to dial: a Unix socket path, or a named pipe
	// name on Windows. Empty selects the endpoint as the package
	// documentation describes.
	Socket string
}

// Client is a connection to the keychain-auth daemon. The zero value is ready
// to use and dials the default endpoint on its first call. A Client must not
// be copied after first use.
type Client struct {
	opts Options

	// turn is a one-slot semaphore held by a call from sending its request
	// until its response is read. Goroutines blocked sending on a channel are
	// woken in arrival order, so waiting calls run first come, first served.
	turnOnce sync.Once
	turn     chan struct{}

	// mu guards conn, reader and closed. It is held only briefly, never
	// during I/O, so Close can interrupt a call in progress.
	mu     sync.Mutex
	conn   net.Conn
	reader *bufio.Reader
	closed bool
}

// New returns a Client that dials lazily on its first call.
func New(opts Options) *Client {
	return &Client{opts: opts}
}

// Dial returns a Client connected to the daemon. It fails with an error
// wrapping ErrDaemonNotRunning when nothing listens on the endpoint. An
// unregistered binary still connects; its first call fails with
// ErrUnregistered.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	c := New(opts)
	if err := c.acquire(ctx); err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	defer c.release()

	if _, _, _, err := c.connection(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Close closes the connection, interrupting a call in progress. Calls after
// Close fail with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()

	c.closed = true
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn, c.reader = nil, nil
	return err
}

// Do sends req as given and returns the daemon's response. It does not
// validate req, so the daemon's validation applies. A response whose status
// is not success is returned together with an *Error.
func (c *Client) Do(ctx context.Context, req *protocol.Request) (*protocol.Response, error) {
	line := protocol.AppendRequest(nil, req)
	if size := len(line) - 1; size > protocol.MaxLineSize {
		return nil, fmt.Errorf("%s %q: request line of %d bytes: %w", req.Action, req.Service, size, protocol.ErrLineTooLong)
	}

	resp, err := c.roundTrip(ctx, line)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", req.Action, req.Service, err)
	}
	if resp.Status == protocol.StatusSuccess {
		return resp, nil
	}

	e := &Error{Action: req.Action, Service: req.Service, Status: resp.Status, Reason: resp.Reason}
	switch resp.Reason {
	case protocol.ReasonUnregistered:
		e.Hash = executableHash()
	case protocol.ReasonServiceNotAllowed, protocol.ReasonActionNotInPolicy:
		e.Path = executablePath()
	}
	return resp, e
}

// errPeerClosed marks a connection the daemon closed before sending any byte
// of the response, which is safe to retry on a new connection.
var errPeerClosed = errors.New("connection closed by the daemon")

// roundTrip sends one request line and reads its response line, dialing
// first when there is no connection.
func (c *Client) roundTrip(ctx context.Context, line []byte) (*protocol.Response, error) {
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.release()

	for attempt := 1; ; attempt++ {
		conn, reader, reused, err := c.connection(ctx)
		if err != nil {
			return nil, err
		}

		resp, err := exchange(ctx, conn, reader, line)
		if err != nil {
			c.drop(conn)
			// A reused connection may have hit the daemon's idle timeout.
			// Every action is idempotent, so one resend is safe.
			if reused && attempt == 1 && errors.Is(err, errPeerClosed) && ctx.Err() == nil {
				continue
			}
			return nil, err
		}
		if resp.Reason == protocol.ReasonUnregistered {
			// The daemon closes the connection after this denial.
			c.drop(conn)
		}
		return resp, nil
	}
}

// exchange writes line to conn and reads one response line under the
// context's deadline, aborting when the context is cancelled.
func exchange(ctx context.Context, conn net.Conn, reader *bufio.Reader, line []byte) (*protocol.Response, error) {
	deadline, hasDeadline := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("set deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })

	resp, err := writeAndRead(conn, reader, line)

	if !stop() {
		// The context ended during the call and moved the deadline, so the
		// connection must not be reused even when the response arrived.
		return nil, fmt.Errorf("call aborted: %w", ctx.Err())
	}
	if err != nil && hasDeadline && errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return resp, err
}

// writeAndRead sends the request and reads the response. When the write
// fails, it still reads, because the daemon sends the unregistered denial
// unprompted and closes: the write then fails with a broken pipe while the
// denial waits in the receive buffer.
func writeAndRead(conn net.Conn, reader *bufio.Reader, line []byte) (*protocol.Response, error) {
	_, writeErr := conn.Write(line)

	raw, readErr := protocol.ReadLine(reader)
	switch {
	case readErr == nil:
	case errors.Is(readErr, protocol.ErrLineTooLong):
		return nil, fmt.Errorf("read response: %w", readErr)
	case readErr == io.EOF || isReset(readErr):
		// Nothing of a response arrived.
		return nil, fmt.Errorf("read response: %w: %w", errPeerClosed, readErr)
	case writeErr != nil:
		return nil, fmt.Errorf("send request: %w", writeErr)
	default:
		return nil, fmt.Errorf("read response: %w", readErr)
	}

	resp, err := protocol.DecodeResponse(raw)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// connection returns the current connection, dialing one when there is none.
// reused reports whether the connection served an earlier call.
func (c *Client) connection(ctx context.Context) (conn net.Conn, reader *bufio.Reader, reused bool, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nil, false, ErrClosed
	}
	if c.conn != nil {
		conn, reader = c.conn, c.reader
		c.mu.Unlock()
		return conn, reader, true, nil
	}
	c.mu.Unlock()

	socket, err := paths.ClientSocket(runtime.GOOS, os.LookupEnv, c.opts.Socket, isSocket)
	if err != nil {
		return nil, nil, false, fmt.Errorf("resolve socket: %w", err)
	}
	conn, err = dialEndpoint(ctx, socket)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || isRefused(err) {
			return nil, nil, false, notRunningError(socket, err)
		}
		return nil, nil, false, fmt.Errorf("dial %q: %w", socket, err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		conn.Close()
		return nil, nil, false, ErrClosed
	}
	c.conn, c.reader = conn, bufio.NewReader(conn)
	return c.conn, c.reader, false, nil
}

// drop closes conn and clears it from c, unless Close or another call has
// already replaced it.
func (c *Client) drop(conn net.Conn) {
	conn.Close()

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == conn {
		c.conn, c.reader = nil, nil
	}
}

func (c *Client) acquire(ctx context.Context) error {
	c.turnOnce.Do(func() { c.turn = make(chan struct{}, 1) })
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case c.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) release() { <-c.turn }

// isSocket reports whether path exists and is a socket.
func isSocket(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode()&fs.ModeSocket != 0
}
