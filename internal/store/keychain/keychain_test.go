package keychain

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/storetest"
)

// fakeAPI is an in-memory keychain with the semantics the store relies on:
// Add fails on an existing item, Update and Delete on a missing one, and
// FindAll returns no data.
type fakeAPI struct {
	mu    sync.Mutex
	items map[[2]string]item
	// failOn, when set, makes Add, Update and Delete fail for the accounts
	// it returns true for.
	failOn func(account string) bool
}

func newFakeAPI() *fakeAPI { return &fakeAPI{items: map[[2]string]item{}} }

var errInjected = errors.New("injected failure")

func copyItem(it item) item {
	return item{Account: it.Account, Data: append([]byte{}, it.Data...), Generic: append([]byte{}, it.Generic...)}
}

func (f *fakeAPI) Find(service, account string) (*item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.items[[2]string{service, account}]
	if !ok {
		return nil, statusError("read", account, errSecItemNotFound)
	}
	c := copyItem(it)
	return &c, nil
}

func (f *fakeAPI) FindAll(service string) ([]item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []item
	for k, it := range f.items {
		if k[0] == service {
			c := copyItem(it)
			c.Data = nil
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeAPI) Add(service string, it item) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failOn != nil && f.failOn(it.Account) {
		return errInjected
	}
	k := [2]string{service, it.Account}
	if _, ok := f.items[k]; ok {
		return statusError("add", it.Account, errSecDuplicateItem)
	}
	f.items[k] = copyItem(it)
	return nil
}

func (f *fakeAPI) Update(service string, it item) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failOn != nil && f.failOn(it.Account) {
		return errInjected
	}
	k := [2]string{service, it.Account}
	if _, ok := f.items[k]; !ok {
		return statusError("update", it.Account, errSecItemNotFound)
	}
	f.items[k] = copyItem(it)
	return nil
}

func (f *fakeAPI) Delete(service, account string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failOn != nil && f.failOn(account) {
		return errInjected
	}
	k := [2]string{service, account}
	if _, ok := f.items[k]; !ok {
		return statusError("delete", account, errSecItemNotFound)
	}
	delete(f.items, k)
	return nil
}

// TestConformanceFake runs the conformance suite against the store logic
// over an in-memory keychain.
func TestConformanceFake(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(newFakeAPI()) }, storetest.Options{})
}

func TestStatusError(t *testing.T) {
	tests := []struct {
		name     string
		code     int32
		is       error
		contains string
	}{
		{name: "success", code: errSecSuccess},
		{name: "not found", code: errSecItemNotFound, is: store.ErrNotFound},
		{name: "interaction not allowed", code: errSecInteractionNotAllowed, is: ErrInteractionNotAllowed, contains: "unlock the login keychain"},
		{name: "duplicate", code: errSecDuplicateItem, is: errDuplicate},
		{name: "not available", code: errSecNotAvailable, contains: "--backend vault"},
		{name: "unknown code", code: -99999, contains: "OSStatus -99999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := statusError("read", "proj:KEY", tt.code)
			if tt.code == errSecSuccess {
				if err != nil {
					t.Errorf("statusError(0) = %v; want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("statusError(%d) = nil; want an error", tt.code)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("statusError(%d) = %v; want errors.Is %v", tt.code, err, tt.is)
			}
			if tt.contains != "" && !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("statusError(%d) = %q; want it to contain %q", tt.code, err, tt.contains)
			}
			if tt.code != errSecItemNotFound && !strings.Contains(err.Error(), `"proj:KEY"`) {
				t.Errorf("statusError(%d) = %q; want it to name the target", tt.code, err)
			}
		})
	}
}

func TestAttributesRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]string
	}{
		{name: "none", attrs: nil},
		{name: "one", attrs: map[string]string{"env": "dev"}},
		{name: "unicode and quotes", attrs: map[string]string{"nöte": `a "quoted" value`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := encodeAttributes(tt.attrs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeAttributes(data)
			if err != nil {
				t.Fatalf("decodeAttributes(%q) = %v", data, err)
			}
			if d := cmp.Diff(tt.attrs, got); d != "" {
				t.Errorf("attributes round trip mismatch (-want +got):\n%s", d)
			}
		})
	}
	if _, err := decodeAttributes([]byte("not json")); err == nil {
		t.Error("decodeAttributes(not json) = nil error; want an error")
	}
}

func TestPutFailureRestores(t *testing.T) {
	api := newFakeAPI()
	s := newStore(api)
	ctx := context.Background()
	if err := s.Put(ctx, "svc", []store.Item{{Target: "a", Value: []byte("old-a"), Attributes: map[string]string{"x": "1"}}}); err != nil {
		t.Fatal(err)
	}

	api.failOn = func(account string) bool { return account == "c" }
	err := s.Put(ctx, "svc", []store.Item{{Target: "a", Value: []byte("new-a")}, {Target: "b", Value: []byte("new-b")}, {Target: "c", Value: []byte("new-c")}})
	if !errors.Is(err, errInjected) {
		t.Fatalf("Put with a failing item = %v; want the injected error", err)
	}
	api.failOn = nil

	got, err := s.List(ctx, "svc", store.Query{WithValues: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Item{{Target: "a", Value: []byte("old-a"), Attributes: map[string]string{"x": "1"}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("List after failed Put mismatch (-want +got):\n%s", d)
	}
}

func TestDeleteFailureRestores(t *testing.T) {
	api := newFakeAPI()
	s := newStore(api)
	ctx := context.Background()
	if err := s.Put(ctx, "svc", []store.Item{{Target: "a", Value: []byte("1")}, {Target: "b", Value: []byte("2")}}); err != nil {
		t.Fatal(err)
	}
	api.failOn = func(account string) bool { return account == "b" }
	if err := s.Delete(ctx, "svc", []string{"a", "b"}); !errors.Is(err, errInjected) {
		t.Fatalf("Delete with a failing item = %v; want the injected error", err)
	}
	api.failOn = nil
	got, err := s.Get(ctx, "svc", []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Errorf("Get after failed Delete returned %d items; want both restored", len(got))
	}
}

func TestRejectsNamesCFStringCannotHold(t *testing.T) {
	s := newStore(newFakeAPI())
	ctx := context.Background()
	for _, name := range []string{"bad\xffutf8", "nul\x00byte"} {
		if err := s.Put(ctx, "svc", []store.Item{{Target: name, Value: []byte("v")}}); err == nil {
			t.Errorf("Put(target %q) = nil; want an error", name)
		}
		if _, err := s.Get(ctx, name, []string{"t"}); err == nil {
			t.Errorf("Get(service %q) = nil; want an error", name)
		}
	}
}
