package wincred

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

// fakeAPI is an in-memory Credential Manager that enforces the limits the
// real one documents, so the store logic can run on any system.
type fakeAPI struct {
	mu    sync.Mutex
	creds map[string]credential
	// failWrite, when set, makes Write fail for names it returns true for.
	failWrite func(name string) bool
	writes    int
}

func newFakeAPI() *fakeAPI { return &fakeAPI{creds: map[string]credential{}} }

var errInjected = errors.New("injected write failure")

func clone(c credential) *credential {
	out := c
	out.Blob = append([]byte(nil), c.Blob...)
	out.Attributes = nil
	for _, a := range c.Attributes {
		out.Attributes = append(out.Attributes, attribute{Keyword: a.Keyword, Value: append([]byte(nil), a.Value...)})
	}
	return &out
}

func (f *fakeAPI) Read(name string) (*credential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// Credential names compare case-insensitively in Credential Manager.
	c, ok := f.creds[strings.ToLower(name)]
	if !ok {
		return nil, store.ErrNotFound
	}
	return clone(c), nil
}

func (f *fakeAPI) Write(c *credential) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWrite != nil && f.failWrite(c.Name) {
		return errInjected
	}
	switch {
	case len(c.Blob) > MaxBlobSize:
		return fmt.Errorf("fake CredWrite %q: blob of %d bytes", c.Name, len(c.Blob))
	case len(c.Attributes) > maxAttributes:
		return fmt.Errorf("fake CredWrite %q: %d attributes", c.Name, len(c.Attributes))
	case utf16Len(c.Name) > maxNameLength, utf16Len(c.Comment) > 256:
		return fmt.Errorf("fake CredWrite %q: name or comment too long", c.Name)
	}
	for _, a := range c.Attributes {
		if len(a.Value) > maxAttributeValue || len(a.Keyword) > 256 {
			return fmt.Errorf("fake CredWrite %q: attribute %q too large", c.Name, a.Keyword)
		}
	}
	f.creds[strings.ToLower(c.Name)] = *clone(*c)
	f.writes++
	return nil
}

func (f *fakeAPI) Delete(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := strings.ToLower(name)
	if _, ok := f.creds[key]; !ok {
		return store.ErrNotFound
	}
	delete(f.creds, key)
	return nil
}

func (f *fakeAPI) Enumerate(filter string) ([]*credential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	prefix, ok := strings.CutSuffix(filter, "*")
	if !ok {
		return nil, fmt.Errorf("fake CredEnumerate: filter %q does not end in *", filter)
	}
	var out []*credential
	for _, c := range f.creds {
		if strings.HasPrefix(strings.ToLower(c.Name), strings.ToLower(prefix)) {
			out = append(out, clone(c))
		}
	}
	return out, nil
}

// names returns the stored credential names.
func (f *fakeAPI) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.creds {
		out = append(out, c.Name)
	}
	return out
}
