//go:build unix

package secretservice

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	k := startKeyring(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		k.wipe(t)
		return open(t, Options{Address: k.Address})
	}, storetest.Options{Service: "conformance"})
}

func diffItems(t *testing.T, call string, got, want []store.Item) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", call, d)
	}
}

func TestSecretToolReadsBackendItems(t *testing.T) {
	k := startKeyring(t)
	s := open(t, Options{Address: k.Address})
	ctx := context.Background()

	tests := []struct {
		name  string
		value string
	}{
		{name: "ascii", value: "s3cret"},
		{name: "newlines", value: "line1\nline2\r\nline3\n"},
		{name: "unicode", value: "pässwörd ✓ 秘密 🔑"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Put(ctx, "interop", []store.Item{{Target: tt.name, Value: []byte(tt.value), Attributes: map[string]string{"env": "dev"}}}); err != nil {
				t.Fatalf("Put(%q) = %v; want nil", tt.name, err)
			}
			got := k.secretTool(t, nil, "lookup", "service", "interop", "target", tt.name)
			if string(got) != tt.value {
				t.Errorf("secret-tool lookup %q = %q; want %q", tt.name, got, tt.value)
			}
			got = k.secretTool(t, nil, "lookup", "env", "dev", "target", tt.name)
			if string(got) != tt.value {
				t.Errorf("secret-tool lookup by user attribute %q = %q; want %q", tt.name, got, tt.value)
			}
		})
	}

	t.Run("label", func(t *testing.T) {
		paths := k.items(t, map[string]string{attrService: "interop", attrTarget: "ascii"})
		if len(paths) != 1 {
			t.Fatalf("items for interop/ascii = %d; want 1", len(paths))
		}
		v, err := k.client(t).Object(serviceName, paths[0]).GetProperty(itemLabelProperty)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := v.Value(), "keychain-auth: interop/ascii"; got != want {
			t.Errorf("label = %q; want %q", got, want)
		}
	})
}

func TestBackendReadsSecretToolItems(t *testing.T) {
	k := startKeyring(t)
	s := open(t, Options{Address: k.Address})
	ctx := context.Background()

	values := map[string]string{
		"ascii":    "s3cret",
		"newlines": "line1\nline2\r\nline3\n",
		"unicode":  "pässwörd ✓ 秘密 🔑",
	}
	for target, value := range values {
		k.secretTool(t, []byte(value), "store", "--label=made by secret-tool", "service", "tool", "target", target, "owner", "ops")
	}
	got, err := s.Get(ctx, "tool", []string{"unicode", "ascii", "absent", "newlines"})
	if err != nil {
		t.Fatalf("Get = %v; want nil", err)
	}
	attrs := map[string]string{"owner": "ops"}
	diffItems(t, "Get(secret-tool items)", got, []store.Item{
		{Target: "unicode", Value: []byte(values["unicode"]), Attributes: attrs},
		{Target: "ascii", Value: []byte(values["ascii"]), Attributes: attrs},
		{Target: "newlines", Value: []byte(values["newlines"]), Attributes: attrs},
	})

	list, err := s.List(ctx, "tool", store.Query{Prefixes: []string{"a", "n"}, WithValues: true})
	if err != nil {
		t.Fatalf("List = %v; want nil", err)
	}
	diffItems(t, "List(a, n)", list, []store.Item{
		{Target: "ascii", Value: []byte(values["ascii"]), Attributes: attrs},
		{Target: "newlines", Value: []byte(values["newlines"]), Attributes: attrs},
	})

	// Replacing a secret-tool item updates it in place: still one item, and
	// still found by secret-tool.
	if err := s.Put(ctx, "tool", []store.Item{{Target: "ascii", Value: []byte("replaced")}}); err != nil {
		t.Fatalf("Put(ascii) = %v; want nil", err)
	}
	if n := len(k.items(t, map[string]string{attrService: "tool", attrTarget: "ascii"})); n != 1 {
		t.Errorf("items for tool/ascii after Put = %d; want 1", n)
	}
	if got := k.secretTool(t, nil, "lookup", "service", "tool", "target", "ascii"); string(got) != "replaced" {
		t.Errorf("secret-tool lookup after Put = %q; want %q", got, "replaced")
	}
}

func TestDuplicateItemsCollapse(t *testing.T) {
	k := startKeyring(t)
	s := open(t, Options{Address: k.Address})
	ctx := context.Background()

	// Different extra attributes make secret-tool create a second item for
	// the same service and target.
	k.secretTool(t, []byte("first"), "store", "--label=one", "service", "dup", "target", "k", "copy", "1")
	k.secretTool(t, []byte("second"), "store", "--label=two", "service", "dup", "target", "k", "copy", "2")

	got, err := s.Get(ctx, "dup", []string{"k", "k"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Target != "k" || got[1].Target != "k" {
		t.Fatalf("Get(k, k) = %d items; want one per requested target", len(got))
	}
	list, err := s.List(ctx, "dup", store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Errorf("List(dup) = %d items; want 1 for two duplicate items", len(list))
	}

	if err := s.Put(ctx, "dup", []store.Item{{Target: "k", Value: []byte("third")}}); err != nil {
		t.Fatal(err)
	}
	if n := len(k.items(t, map[string]string{attrService: "dup", attrTarget: "k"})); n != 1 {
		t.Errorf("items for dup/k after Put = %d; want 1", n)
	}
	got, err = s.Get(ctx, "dup", []string{"k"})
	if err != nil {
		t.Fatal(err)
	}
	diffItems(t, "Get(k) after Put", got, []store.Item{{Target: "k", Value: []byte("third")}})
}

func TestPutRejectsReservedAttributes(t *testing.T) {
	k := startKeyring(t)
	s := open(t, Options{Address: k.Address})
	for _, name := range []string{attrService, attrTarget, attrSchema} {
		t.Run(name, func(t *testing.T) {
			err := s.Put(context.Background(), "svc", []store.Item{{Target: "k", Value: []byte("v"), Attributes: map[string]string{name: "x"}}})
			if err == nil || !strings.Contains(err.Error(), "reserved") {
				t.Errorf("Put(attribute %q) = %v; want a reserved-name error", name, err)
			}
		})
	}
	if n := len(k.items(t, map[string]string{attrService: "svc"})); n != 0 {
		t.Errorf("items after rejected Puts = %d; want 0", n)
	}
}

func TestSessionIsEncrypted(t *testing.T) {
	k := startKeyring(t)
	s := open(t, Options{Address: k.Address})
	c, err := s.conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.cipher.key == nil {
		t.Fatalf("session uses the plain algorithm; want %s", algorithmDH)
	}
}

// TestKeyAgreementLeadingZero checks the shared-secret encoding against
// gnome-keyring in the case where the two could differ: a shared secret whose
// first byte is zero, which occurs in about one session in 256.
func TestKeyAgreementLeadingZero(t *testing.T) {
	k := startKeyring(t)
	s := open(t, Options{Address: k.Address})
	ctx := context.Background()
	value := []byte("leading zero check")
	if err := s.Put(ctx, "dh", []store.Item{{Target: "k", Value: value}}); err != nil {
		t.Fatal(err)
	}
	item := k.items(t, map[string]string{attrService: "dh", attrTarget: "k"})[0]
	bus := k.client(t)
	svc := bus.Object(serviceName, servicePath)

	short, sessions := 0, 0
	for short < 3 && sessions < 5000 {
		sessions++
		kp, err := newDHKeyPair(randReader{})
		if err != nil {
			t.Fatal(err)
		}
		var output dbus.Variant
		var session dbus.ObjectPath
		if err := svc.Call(serviceIface+".OpenSession", 0, algorithmDH, dbus.MakeVariant(kp.public.Bytes())).Store(&output, &session); err != nil {
			t.Fatalf("OpenSession: %v", err)
		}
		servicePublic := output.Value().([]byte)
		shared := sharedSecret(kp, servicePublic)
		if len(shared) == 128 {
			bus.Object(serviceName, session).Call(sessionIface+".Close", 0)
			continue
		}
		short++
		key, err := kp.sessionKey(servicePublic)
		if err != nil {
			t.Fatal(err)
		}
		var sec secretStruct
		if err := bus.Object(serviceName, item).Call(itemIface+".GetSecret", 0, session).Store(&sec); err != nil {
			t.Fatalf("GetSecret: %v", err)
		}
		got, err := transportCipher{key: key}.open(sec.Parameters, sec.Value)
		if err != nil || string(got) != string(value) {
			t.Errorf("session %d with a %d-byte shared secret: decrypt = %q, %v; want %q", sessions, len(shared), got, err, value)
		}
		bus.Object(serviceName, session).Call(sessionIface+".Close", 0)
	}
	if short == 0 {
		t.Fatalf("no shared secret with a leading zero byte in %d sessions", sessions)
	}
	t.Logf("checked %d short shared secrets in %d sessions", short, sessions)
}

func TestProbe(t *testing.T) {
	k := startKeyring(t)
	if err := Probe(context.Background(), Options{Address: k.Address}); err != nil {
		t.Errorf("Probe(running keyring) = %v; want nil", err)
	}

	t.Run("NoService", func(t *testing.T) {
		signal(t, k.Daemon, syscall.SIGKILL)
		k.Daemon.Wait()
		k.Daemon = nil
		err := Probe(context.Background(), Options{Address: k.Address, Timeout: 500 * time.Millisecond})
		if err == nil {
			t.Errorf("Probe(bus without secret service) = nil; want an error")
		}
	})
}

func TestNoBus(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		address string
		want    string
	}{
		{name: "MissingSocket", address: "unix:path=" + dir + "/absent", want: "connect to session bus"},
		{name: "UnsupportedTransport", address: "tcp:host=127.0.0.1,port=1", want: "no unix:path or unix:abstract"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), Options{Address: tt.address})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) = %v; want an error containing %q", tt.address, err, tt.want)
			}
			if err := Probe(context.Background(), Options{Address: tt.address}); err == nil {
				t.Errorf("Probe(%q) = nil; want an error", tt.address)
			}
		})
	}

	t.Run("NoAddress", func(t *testing.T) {
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
		_, err := Open(context.Background(), Options{})
		if err == nil || !strings.Contains(err.Error(), "DBUS_SESSION_BUS_ADDRESS is not set") {
			t.Errorf("Open(no address) = %v; want an error naming DBUS_SESSION_BUS_ADDRESS", err)
		}
	})
}

// TestHungBusTimesOut stops the bus, then the keyring daemon, with SIGSTOP:
// calls must fail with a timeout, and work again once the process resumes.
func TestHungBusTimesOut(t *testing.T) {
	k := startKeyring(t)
	ctx := context.Background()
	// Writes make gnome-keyring rewrite its keyring file, which can take
	// longer than the short timeout below on a loaded machine.
	if err := open(t, Options{Address: k.Address}).Put(ctx, "hang", []store.Item{{Target: "k", Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	timeout := time.Second
	s := open(t, Options{Address: k.Address, Timeout: timeout})

	for _, tt := range []struct {
		name    string
		process func() *exec.Cmd
	}{
		{name: "Bus", process: func() *exec.Cmd { return k.Bus }},
		{name: "Keyring", process: func() *exec.Cmd { return k.Daemon }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			signal(t, tt.process(), syscall.SIGSTOP)
			start := time.Now()
			_, err := s.Get(ctx, "hang", []string{"k"})
			elapsed := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Get with a stopped %s = %v; want a timeout error", tt.name, err)
			}
			t.Logf("Get with a stopped %s returned after %v (timeout %v)", tt.name, elapsed, timeout)
			if err := Probe(ctx, Options{Address: k.Address, Timeout: timeout}); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Probe with a stopped %s = %v; want a timeout error", tt.name, err)
			}
			signal(t, tt.process(), syscall.SIGCONT)

			got, err := s.Get(ctx, "hang", []string{"k"})
			if err != nil {
				t.Fatalf("Get after SIGCONT = %v; want nil", err)
			}
			diffItems(t, "Get after SIGCONT", got, []store.Item{{Target: "k", Value: []byte("v")}})
		})
	}
}

// TestServiceKilledDuringCall kills bus and keyring while a GetSecrets call
// waits for its reply, then restarts both: the same Store must work again.
func TestServiceKilledDuringCall(t *testing.T) {
	k := startKeyring(t)
	p := startProxy(t, k)
	// The long timeout shows that the error comes from the lost connection.
	s := open(t, Options{Address: p.address, Timeout: time.Minute})
	ctx := context.Background()
	if err := s.Put(ctx, "kill", []store.Item{{Target: "k", Value: []byte("survives a restart")}}); err != nil {
		t.Fatal(err)
	}

	getSecretsHeld := make(chan struct{})
	var once sync.Once
	p.setDecide(func(member string) proxyAction {
		if member != "GetSecrets" {
			return forward
		}
		once.Do(func() { close(getSecretsHeld) })
		return hold
	})
	errc := make(chan error, 1)
	go func() {
		_, err := s.Get(ctx, "kill", []string{"k"})
		errc <- err
	}()
	<-getSecretsHeld
	k.Stop()
	if err := <-errc; err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get while bus and keyring die = %v; want a connection error", err)
	}

	p.setDecide(nil)
	if _, err := s.Get(ctx, "kill", []string{"k"}); err == nil {
		t.Errorf("Get with no bus = nil; want an error")
	}
	k.Start(t)
	got, err := s.Get(ctx, "kill", []string{"k"})
	if err != nil {
		t.Fatalf("Get after restart = %v; want nil", err)
	}
	diffItems(t, "Get after restart", got, []store.Item{{Target: "k", Value: []byte("survives a restart")}})
}

func TestLockedCollection(t *testing.T) {
	k := startKeyring(t)
	s := open(t, Options{Address: k.Address})
	ctx := context.Background()
	if err := s.Put(ctx, "lock", []store.Item{{Target: "k", Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}

	c := k.client(t)
	var collection dbus.ObjectPath
	if err := c.Object(serviceName, servicePath).Call(serviceIface+".ReadAlias", 0, defaultAlias).Store(&collection); err != nil {
		t.Fatal(err)
	}
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := c.Object(serviceName, servicePath).Call(serviceIface+".Lock", 0, []dbus.ObjectPath{collection}).Store(&locked, &prompt); err != nil {
		t.Fatalf("Lock(%q) = %v", collection, err)
	}

	_, err := s.Get(ctx, "lock", []string{"k"})
	if !errors.Is(err, ErrLocked) {
		t.Errorf("Get on a locked collection = %v; want ErrLocked", err)
	}
	_, err = s.List(ctx, "lock", store.Query{})
	if !errors.Is(err, ErrLocked) {
		t.Errorf("List on a locked collection = %v; want ErrLocked", err)
	}
	err = s.Put(ctx, "lock", []store.Item{{Target: "k2", Value: []byte("v")}})
	if !errors.Is(err, ErrLocked) {
		t.Errorf("Put on a locked collection = %v; want ErrLocked", err)
	}
	err = s.Delete(ctx, "lock", []string{"k"})
	if !errors.Is(err, ErrLocked) {
		t.Errorf("Delete on a locked collection = %v; want ErrLocked", err)
	}
	if err != nil && strings.Contains(err.Error(), "\"v\"") {
		t.Errorf("error %q contains a secret value", err)
	}
}

// rollbackFixture returns a store that talks through a fault-injecting
// proxy, and one on the bus itself to check the outcome.
func rollbackFixture(t *testing.T) (*busProxy, *Store, *Store) {
	k := startKeyring(t)
	p := startProxy(t, k)
	return p, open(t, Options{Address: p.address}), open(t, Options{Address: k.Address})
}

func TestPutRollsBackOnFailure(t *testing.T) {
	p, s, check := rollbackFixture(t)
	ctx := context.Background()
	before := []store.Item{
		{Target: "a", Value: []byte("old-a"), Attributes: map[string]string{"x": "1"}},
		{Target: "z", Value: []byte("untouched")},
	}
	if err := check.Put(ctx, "rb", before); err != nil {
		t.Fatal(err)
	}

	// Element 1 updates a, element 2 creates b, element 3 creates c and is
	// cut off before it reaches the bus.
	p.cutOnNth("CreateItem", 2)
	err := s.Put(ctx, "rb", []store.Item{
		{Target: "a", Value: []byte("new-a"), Attributes: map[string]string{"y": "2"}},
		{Target: "b", Value: []byte("new-b")},
		{Target: "c", Value: []byte("new-c")},
		{Target: "d", Value: []byte("new-d")},
	})
	if err == nil {
		t.Fatal("Put with a connection cut at element 3 = nil; want an error")
	}
	if !strings.Contains(err.Error(), "element 3 of 4") {
		t.Errorf("Put error = %q; want it to name element 3 of 4", err)
	}
	if strings.Contains(err.Error(), "new-") {
		t.Errorf("Put error %q contains a secret value", err)
	}

	got, err := check.List(ctx, "rb", store.Query{WithValues: true})
	if err != nil {
		t.Fatal(err)
	}
	diffItems(t, "List after rolled-back Put", got, before)

	p.setDecide(nil)
	if err := s.Put(ctx, "rb", []store.Item{{Target: "b", Value: []byte("after")}}); err != nil {
		t.Errorf("Put after the failure = %v; want nil", err)
	}
}

func TestDeleteRollsBackOnFailure(t *testing.T) {
	p, s, check := rollbackFixture(t)
	ctx := context.Background()
	before := []store.Item{
		{Target: "a", Value: []byte("value-a"), Attributes: map[string]string{"x": "1"}},
		{Target: "b", Value: []byte("value\nb ✓")},
		{Target: "c", Value: []byte("value-c")},
	}
	if err := check.Put(ctx, "rb", before); err != nil {
		t.Fatal(err)
	}

	p.cutOnNth("Delete", 3)
	err := s.Delete(ctx, "rb", []string{"a", "missing", "b", "c"})
	if err == nil {
		t.Fatal("Delete with a connection cut at the third item = nil; want an error")
	}
	got, err := check.List(ctx, "rb", store.Query{WithValues: true})
	if err != nil {
		t.Fatal(err)
	}
	diffItems(t, "List after rolled-back Delete", got, before)

	p.setDecide(nil)
	if err := s.Delete(ctx, "rb", []string{"a", "b", "c"}); err != nil {
		t.Fatalf("Delete after the failure = %v; want nil", err)
	}
	got, err = check.List(ctx, "rb", store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	diffItems(t, "List after Delete", got, nil)
}

func TestConcurrentReconnect(t *testing.T) {
	k := startKeyring(t)
	s := open(t, Options{Address: k.Address})
	ctx := context.Background()
	if err := s.Put(ctx, "cc", []store.Item{{Target: "k", Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	s.discard(s.cur)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			got, err := s.Get(ctx, "cc", []string{"k"})
			if err == nil && len(got) != 1 {
				err = fmt.Errorf("Get(k) = %d items; want 1", len(got))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestDescribe(t *testing.T) {
	name, protection := (&Store{}).Describe()
	if name != "secret-service" {
		t.Errorf("Describe() name = %q; want %q", name, "secret-service")
	}
	if !strings.Contains(protection, "any process") {
		t.Errorf("Describe() protection = %q; want it to say any process of the user can read items", protection)
	}
}
