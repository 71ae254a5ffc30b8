package secretservice

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// D-Bus names of the Secret Service API.
const (
	serviceName       = "org.freedesktop.secrets"
	servicePath       = dbus.ObjectPath("/org/freedesktop/secrets")
	serviceIface      = "org.freedesktop.Secret.Service"
	collectionIface   = "org.freedesktop.Secret.Collection"
	itemIface         = "org.freedesktop.Secret.Item"
	sessionIface      = "org.freedesktop.Secret.Session"
	promptIface       = "org.freedesktop.Secret.Prompt"
	propertiesIface   = "org.freedesktop.DBus.Properties"
	errNotSupported   = "org.freedesktop.DBus.Error.NotSupported"
	noPrompt          = dbus.ObjectPath("/")
	defaultAlias      = "default"
	contentTypePlain  = "text/plain"
	itemLabelProperty = itemIface + ".Label"
	itemAttrsProperty = itemIface + ".Attributes"
)

// conn is one authenticated bus connection with an open Secret Service
// session. It is replaced, never repaired, after any failure.
type conn struct {
	raw        net.Conn
	bus        *dbus.Conn
	timeout    time.Duration
	session    dbus.ObjectPath
	cipher     transportCipher
	collection dbus.ObjectPath

	closeOnce sync.Once
}

// dialBus connects to the first unix socket listed in a D-Bus address
// ("unix:path=…" or "unix:abstract=…", alternatives separated by ';').
func dialBus(ctx context.Context, address string) (net.Conn, error) {
	var dialer net.Dialer
	var lastErr error
	for entry := range strings.SplitSeq(address, ";") {
		transport, params, _ := strings.Cut(entry, ":")
		if transport != "unix" {
			continue
		}
		for kv := range strings.SplitSeq(params, ",") {
			key, value, _ := strings.Cut(kv, "=")
			value, err := url.PathUnescape(value)
			if err != nil {
				lastErr = fmt.Errorf("parse bus address %q: %w", address, err)
				continue
			}
			var name string
			switch key {
			case "path":
				name = value
			case "abstract":
				name = "@" + value
			default:
				continue
			}
			c, err := dialer.DialContext(ctx, "unix", name)
			if err != nil {
				lastErr = fmt.Errorf("connect to session bus: %w", err)
				continue
			}
			return c, nil
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return nil, fmt.Errorf("connect to session bus: address %q lists no unix:path or unix:abstract socket, the only transports supported", address)
}

// connect dials the bus, authenticates, opens a session and resolves the
// default collection, all within one timeout. Closing the socket when the
// timeout fires unblocks godbus, whose handshake takes no context.
func connect(ctx context.Context, address string, timeout time.Duration, allowPlain bool) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	raw, err := dialBus(ctx, address)
	if err != nil {
		return nil, err
	}
	c := &conn{raw: raw, timeout: timeout}
	stop := context.AfterFunc(ctx, c.close)

	c.bus, err = dbus.NewConn(raw)
	if err == nil {
		err = c.bus.Auth(nil)
	}
	if err == nil {
		err = c.bus.Hello()
	}
	if err == nil {
		err = c.openSession(ctx, allowPlain)
	}
	if err == nil {
		err = c.resolveCollection(ctx)
	}
	if !stop() {
		c.close()
		return nil, fmt.Errorf("connect to secret service: timed out after %v: %w", timeout, context.DeadlineExceeded)
	}
	if err != nil {
		c.close()
		return nil, fmt.Errorf("connect to secret service: %w", err)
	}
	return c, nil
}

func (c *conn) openSession(ctx context.Context, allowPlain bool) error {
	kp, err := newDHKeyPair(rand.Reader)
	if err != nil {
		return err
	}

	var output dbus.Variant
	var path dbus.ObjectPath
	err = c.call(ctx, servicePath, serviceIface+".OpenSession", algorithmDH, dbus.MakeVariant(kp.public.Bytes())).Store(&output, &path)

	var dbusErr dbus.Error
	if errors.As(err, &dbusErr) && dbusErr.Name == errNotSupported && allowPlain {
		// NOTE: no test runs this branch, because gnome-keyring offers dh-ietf1024.
		err = c.call(ctx, servicePath, serviceIface+".OpenSession", algorithmPlain, dbus.MakeVariant("")).Store(&output, &path)
		if err != nil {
			return fmt.Errorf("open plain session: %w", err)
		}
		c.session = path
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s session: %w", algorithmDH, err)
	}

	servicePublic, ok := output.Value().([]byte)
	if !ok {
		return fmt.Errorf("open %s session: service returned a %s instead of a public key", algorithmDH, output.Signature())
	}
	key, err := kp.sessionKey(servicePublic)
	if err != nil {
		return err
	}
	c.session = path
	c.cipher = transportCipher{key: key}
	return nil
}

func (c *conn) resolveCollection(ctx context.Context) error {
	var path dbus.ObjectPath
	if err := c.call(ctx, servicePath, serviceIface+".ReadAlias", defaultAlias).Store(&path); err != nil {
		return fmt.Errorf("read collection alias %q: %w", defaultAlias, err)
	}
	if path == noPrompt {
		return fmt.Errorf("read collection alias %q: the secret service has no default collection; create one with the desktop's keyring manager", defaultAlias)
	}
	c.collection = path
	return nil
}

// alive reports whether the connection can still carry calls.
func (c *conn) alive() bool {
	return c.bus != nil && c.bus.Connected()
}

// close shuts the socket first, because godbus v5.2.4's own Close waits for
// a blocked write to finish, which a hung bus never lets happen.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.raw.Close()
		if c.bus != nil {
			go c.bus.Close()
		}
	})
}

// ownsItem reports whether an item object belongs to the collection used for
// writes. Item paths are children of their collection's path in the Secret
// Service API.
func (c *conn) ownsItem(item dbus.ObjectPath) bool {
	return strings.HasPrefix(string(item), string(c.collection)+"/")
}

// request is one method call of a pipelined group.
type request struct {
	path   dbus.ObjectPath
	method string
	args   []any
}

// call makes one method call bounded by the connection timeout.
func (c *conn) call(ctx context.Context, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	calls, err := c.callAll(ctx, []request{{path: path, method: method, args: args}})
	if err != nil {
		return &dbus.Call{Err: err}
	}
	return calls[0]
}

// maxPipelined caps the calls in flight on one connection. dbus-daemon
// rejects calls beyond max_replies_per_connection, and with 1.14.10 a bus
// configuration that does not set it rejected 200 pipelined calls.
const maxPipelined = 64

// callAll sends the requests in groups of maxPipelined and waits for each
// group's replies before sending the next, so a group costs one round trip.
func (c *conn) callAll(ctx context.Context, reqs []request) ([]*dbus.Call, error) {
	calls := make([]*dbus.Call, 0, len(reqs))
	for start := 0; start < len(reqs); start += maxPipelined {
		group, err := c.callGroup(ctx, reqs[start:min(start+maxPipelined, len(reqs))])
		if err != nil {
			return nil, err
		}
		calls = append(calls, group...)
	}
	return calls, nil
}

// callGroup sends every request before waiting for any reply and bounds the
// whole group by the connection timeout. If the timeout passes with replies
// still missing, the socket is closed: a write blocked on a hung bus returns
// only then, and the next store call reconnects. A cancelled ctx alone ends
// the wait without closing anything.
func (c *conn) callGroup(ctx context.Context, reqs []request) ([]*dbus.Call, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	watchdog := time.AfterFunc(c.timeout, c.close)

	done := make(chan *dbus.Call, len(reqs))
	calls := make([]*dbus.Call, len(reqs))
	for i, r := range reqs {
		calls[i] = c.bus.Object(serviceName, r.path).GoWithContext(ctx, r.method, 0, done, r.args...)
	}
	for range reqs {
		<-done
	}

	if !watchdog.Stop() {
		return nil, fmt.Errorf("call %s: timed out after %v waiting for the reply: %w", reqs[0].method, c.timeout, context.DeadlineExceeded)
	}
	for i, call := range calls {
		if call.Err != nil {
			return nil, fmt.Errorf("call %s: %w", reqs[i].method, call.Err)
		}
	}
	return calls, nil
}
