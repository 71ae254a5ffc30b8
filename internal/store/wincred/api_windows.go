package wincred

import (
	"errors"

	"github.com/danieljoos/wincred"
	"golang.org/x/sys/windows"
)

// systemAPI calls the Credential Manager of the current logon session through
// github.com/danieljoos/wincred (CredReadW, CredWriteW, CredDeleteW and
// CredEnumerateW on generic credentials).
type systemAPI struct{}

// Open returns a Store over the current user's Credential Manager.
func Open() (*Store, error) {
	return newStore(systemAPI{}), nil
}

// Probe checks that Credential Manager responds to an enumeration.
func Probe() error {
	_, err := systemAPI{}.Enumerate("keychain-auth-probe:*")
	return err
}

func (systemAPI) Read(name string) (*credential, error) {
	g, err := wincred.GetGenericCredential(name)
	if err != nil {
		return nil, mapError("read", name, errorCode(err), err)
	}
	return fromLibrary(&g.Credential), nil
}

func (systemAPI) Write(c *credential) error {
	g := wincred.NewGenericCredential(c.Name)
	g.Comment = c.Comment
	g.CredentialBlob = c.Blob
	// Local machine persistence: the credential does not roam to other
	// computers with a roaming profile.
	g.Persist = wincred.PersistLocalMachine
	for _, a := range c.Attributes {
		g.Attributes = append(g.Attributes, wincred.CredentialAttribute{Keyword: a.Keyword, Value: a.Value})
	}
	if err := g.Write(); err != nil {
		return mapError("write", c.Name, errorCode(err), err)
	}
	return nil
}

func (systemAPI) Delete(name string) error {
	g := wincred.NewGenericCredential(name)
	if err := g.Delete(); err != nil {
		return mapError("delete", name, errorCode(err), err)
	}
	return nil
}

// Enumerate lists credentials matching filter. CredEnumerateW returns every
// credential type; a non-generic credential with a matching name would be
// listed too.
func (systemAPI) Enumerate(filter string) ([]*credential, error) {
	list, err := wincred.FilteredList(filter)
	if err != nil {
		return nil, mapError("enumerate", filter, errorCode(err), err)
	}
	creds := make([]*credential, len(list))
	for i, c := range list {
		creds[i] = fromLibrary(c)
	}
	return creds, nil
}

func fromLibrary(c *wincred.Credential) *credential {
	out := &credential{Name: c.TargetName, Comment: c.Comment, Blob: c.CredentialBlob}
	for _, a := range c.Attributes {
		out.Attributes = append(out.Attributes, attribute{Keyword: a.Keyword, Value: a.Value})
	}
	return out
}

// errorCode returns the Win32 error code in err, or 0.
func errorCode(err error) uint32 {
	var errno windows.Errno
	if errors.As(err, &errno) {
		return uint32(errno)
	}
	return 0
}
