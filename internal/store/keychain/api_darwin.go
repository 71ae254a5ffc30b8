package keychain

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/keychain-auth/keychain-auth/internal/store"
)

// Framework paths; dlopen finds them in the dyld shared cache.
const (
	coreFoundationPath = "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation"
	securityPath       = "/System/Library/Frameworks/Security.framework/Security"
)

// cfStringEncodingUTF8 is kCFStringEncodingUTF8 from CFString.h.
const cfStringEncodingUTF8 = 0x08000100

// frameworks holds the functions and constants loaded from CoreFoundation
// and Security. CF objects are passed as uintptr because they live in memory
// the Go garbage collector does not manage.
type frameworks struct {
	cfRelease                 func(cf uintptr)
	cfDictionaryCreateMutable func(alloc uintptr, capacity int, keyCallBacks, valueCallBacks uintptr) uintptr
	cfDictionarySetValue      func(dict, key, value uintptr)
	cfDictionaryGetValue      func(dict, key uintptr) uintptr
	cfStringCreateWithBytes   func(alloc uintptr, bytes []byte, length int, encoding uint32, external bool) uintptr
	cfStringGetLength         func(str uintptr) int
	cfStringGetMaximumSize    func(length int, encoding uint32) int
	cfStringGetCString        func(str uintptr, buf []byte, size int, encoding uint32) bool
	cfDataCreate              func(alloc uintptr, bytes []byte, length int) uintptr
	cfDataGetLength           func(data uintptr) int
	cfDataGetBytePtr          func(data uintptr) *byte
	cfArrayGetCount           func(array uintptr) int
	cfArrayGetValueAtIndex    func(array uintptr, index int) uintptr

	secItemAdd          func(attributes uintptr, result *uintptr) int32
	secItemCopyMatching func(query uintptr, result *uintptr) int32
	secItemUpdate       func(query, attributes uintptr) int32
	secItemDelete       func(query uintptr) int32

	// Addresses of the callback structs, passed by pointer.
	keyCallBacks, valueCallBacks uintptr
	// Values of the CFTypeRef constants.
	cfBooleanTrue                                      uintptr
	secClass, secClassGenericPassword                  uintptr
	secAttrService, secAttrAccount, secAttrGeneric     uintptr
	secValueData, secReturnData, secReturnAttributes   uintptr
	secMatchLimit, secMatchLimitOne, secMatchLimitAll  uintptr
	secUseAuthenticationUI, secUseAuthenticationUIFail uintptr
}

// loadFrameworks opens both frameworks once per process.
var loadFrameworks = sync.OnceValues(func() (*frameworks, error) {
	cf, err := purego.Dlopen(coreFoundationPath, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("keychain: load CoreFoundation: %w", err)
	}
	sec, err := purego.Dlopen(securityPath, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("keychain: load Security: %w", err)
	}

	f := &frameworks{}
	funcs := []struct {
		lib  uintptr
		name string
		fptr any
	}{
		{cf, "CFRelease", &f.cfRelease},
		{cf, "CFDictionaryCreateMutable", &f.cfDictionaryCreateMutable},
		{cf, "CFDictionarySetValue", &f.cfDictionarySetValue},
		{cf, "CFDictionaryGetValue", &f.cfDictionaryGetValue},
		{cf, "CFStringCreateWithBytes", &f.cfStringCreateWithBytes},
		{cf, "CFStringGetLength", &f.cfStringGetLength},
		{cf, "CFStringGetMaximumSizeForEncoding", &f.cfStringGetMaximumSize},
		{cf, "CFStringGetCString", &f.cfStringGetCString},
		{cf, "CFDataCreate", &f.cfDataCreate},
		{cf, "CFDataGetLength", &f.cfDataGetLength},
		{cf, "CFDataGetBytePtr", &f.cfDataGetBytePtr},
		{cf, "CFArrayGetCount", &f.cfArrayGetCount},
		{cf, "CFArrayGetValueAtIndex", &f.cfArrayGetValueAtIndex},
		{sec, "SecItemAdd", &f.secItemAdd},
		{sec, "SecItemCopyMatching", &f.secItemCopyMatching},
		{sec, "SecItemUpdate", &f.secItemUpdate},
		{sec, "SecItemDelete", &f.secItemDelete},
	}
	for _, fn := range funcs {
		if _, err := purego.Dlsym(fn.lib, fn.name); err != nil {
			return nil, fmt.Errorf("keychain: find %s: %w", fn.name, err)
		}
		purego.RegisterLibFunc(fn.fptr, fn.lib, fn.name)
	}

	addresses := []struct {
		lib  uintptr
		name string
		dst  *uintptr
	}{
		{cf, "kCFTypeDictionaryKeyCallBacks", &f.keyCallBacks},
		{cf, "kCFTypeDictionaryValueCallBacks", &f.valueCallBacks},
	}
	for _, a := range addresses {
		addr, err := purego.Dlsym(a.lib, a.name)
		if err != nil {
			return nil, fmt.Errorf("keychain: find %s: %w", a.name, err)
		}
		*a.dst = addr
	}

	constants := []struct {
		lib  uintptr
		name string
		dst  *uintptr
	}{
		{cf, "kCFBooleanTrue", &f.cfBooleanTrue},
		{sec, "kSecClass", &f.secClass},
		{sec, "kSecClassGenericPassword", &f.secClassGenericPassword},
		{sec, "kSecAttrService", &f.secAttrService},
		{sec, "kSecAttrAccount", &f.secAttrAccount},
		{sec, "kSecAttrGeneric", &f.secAttrGeneric},
		{sec, "kSecValueData", &f.secValueData},
		{sec, "kSecReturnData", &f.secReturnData},
		{sec, "kSecReturnAttributes", &f.secReturnAttributes},
		{sec, "kSecMatchLimit", &f.secMatchLimit},
		{sec, "kSecMatchLimitOne", &f.secMatchLimitOne},
		{sec, "kSecMatchLimitAll", &f.secMatchLimitAll},
		{sec, "kSecUseAuthenticationUI", &f.secUseAuthenticationUI},
		{sec, "kSecUseAuthenticationUIFail", &f.secUseAuthenticationUIFail},
	}
	for _, c := range constants {
		addr, err := purego.Dlsym(c.lib, c.name)
		if err != nil {
			return nil, fmt.Errorf("keychain: find %s: %w", c.name, err)
		}
		// The symbol is a variable holding a CFTypeRef; read its value.
		*c.dst = **(**uintptr)(unsafe.Pointer(&addr))
	}
	return f, nil
})

// systemAPI calls the Security framework on the login keychain.
type systemAPI struct {
	f *frameworks
}

// Open loads the frameworks and returns a Store over the user's keychain.
func Open() (*Store, error) {
	f, err := loadFrameworks()
	if err != nil {
		return nil, err
	}
	return newStore(systemAPI{f: f}), nil
}

// Probe checks that the keychain responds to a query. A missing item is the
// expected result.
func Probe() error {
	f, err := loadFrameworks()
	if err != nil {
		return err
	}
	_, err = systemAPI{f: f}.Find("keychain-auth-probe", "probe")
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// cfObjects collects the CF objects a call creates so they are released
// together.
type cfObjects struct {
	f    *frameworks
	refs []uintptr
}

func (o *cfObjects) release() {
	for _, r := range o.refs {
		o.f.cfRelease(r)
	}
}

func (o *cfObjects) keep(ref uintptr) uintptr {
	if ref != 0 {
		o.refs = append(o.refs, ref)
	}
	return ref
}

func (o *cfObjects) str(s string) uintptr {
	b := []byte(s)
	if len(b) == 0 {
		b = []byte{0}
		return o.keep(o.f.cfStringCreateWithBytes(0, b, 0, cfStringEncodingUTF8, false))
	}
	return o.keep(o.f.cfStringCreateWithBytes(0, b, len(b), cfStringEncodingUTF8, false))
}

func (o *cfObjects) data(b []byte) uintptr {
	if len(b) == 0 {
		return o.keep(o.f.cfDataCreate(0, []byte{0}, 0))
	}
	return o.keep(o.f.cfDataCreate(0, b, len(b)))
}

func (o *cfObjects) dict() uintptr {
	return o.keep(o.f.cfDictionaryCreateMutable(0, 0, o.f.keyCallBacks, o.f.valueCallBacks))
}

// query returns a dictionary selecting the generic passwords of service,
// and of account when it is not empty, with prompting disabled.
func (o *cfObjects) query(service, account string) uintptr {
	f := o.f
	d := o.dict()
	f.cfDictionarySetValue(d, f.secClass, f.secClassGenericPassword)
	f.cfDictionarySetValue(d, f.secAttrService, o.str(service))
	if account != "" {
		f.cfDictionarySetValue(d, f.secAttrAccount, o.str(account))
	}
	f.cfDictionarySetValue(d, f.secUseAuthenticationUI, f.secUseAuthenticationUIFail)
	return d
}

func (a systemAPI) Find(service, account string) (*item, error) {
	f := a.f
	o := &cfObjects{f: f}
	defer o.release()

	q := o.query(service, account)
	f.cfDictionarySetValue(q, f.secReturnData, f.cfBooleanTrue)
	f.cfDictionarySetValue(q, f.secReturnAttributes, f.cfBooleanTrue)
	f.cfDictionarySetValue(q, f.secMatchLimit, f.secMatchLimitOne)
	var result uintptr
	if err := statusError("read", account, f.secItemCopyMatching(q, &result)); err != nil {
		return nil, err
	}
	o.keep(result)
	it := a.itemFromAttributes(result)
	it.Data = a.bytes(f.cfDictionaryGetValue(result, f.secValueData))
	if it.Data == nil {
		it.Data = []byte{}
	}
	return &it, nil
}

func (a systemAPI) FindAll(service string) ([]item, error) {
	f := a.f
	o := &cfObjects{f: f}
	defer o.release()

	q := o.query(service, "")
	f.cfDictionarySetValue(q, f.secReturnAttributes, f.cfBooleanTrue)
	f.cfDictionarySetValue(q, f.secMatchLimit, f.secMatchLimitAll)
	var result uintptr
	err := statusError("list", "", f.secItemCopyMatching(q, &result))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	o.keep(result)
	n := f.cfArrayGetCount(result)
	items := make([]item, 0, n)
	for i := range n {
		items = append(items, a.itemFromAttributes(f.cfArrayGetValueAtIndex(result, i)))
	}
	return items, nil
}

func (a systemAPI) Add(service string, it item) error {
	f := a.f
	o := &cfObjects{f: f}
	defer o.release()

	attrs := o.query(service, it.Account)
	f.cfDictionarySetValue(attrs, f.secValueData, o.data(it.Data))
	f.cfDictionarySetValue(attrs, f.secAttrGeneric, o.data(it.Generic))
	return statusError("add", it.Account, f.secItemAdd(attrs, nil))
}

func (a systemAPI) Update(service string, it item) error {
	f := a.f
	o := &cfObjects{f: f}
	defer o.release()

	q := o.query(service, it.Account)
	changes := o.dict()
	f.cfDictionarySetValue(changes, f.secValueData, o.data(it.Data))
	f.cfDictionarySetValue(changes, f.secAttrGeneric, o.data(it.Generic))
	return statusError("update", it.Account, f.secItemUpdate(q, changes))
}

func (a systemAPI) Delete(service, account string) error {
	o := &cfObjects{f: a.f}
	defer o.release()
	return statusError("delete", account, a.f.secItemDelete(o.query(service, account)))
}

// itemFromAttributes reads the account and generic attribute of an
// attribute dictionary that SecItemCopyMatching returned.
func (a systemAPI) itemFromAttributes(dict uintptr) item {
	f := a.f
	return item{
		Account: a.string(f.cfDictionaryGetValue(dict, f.secAttrAccount)),
		Generic: a.bytes(f.cfDictionaryGetValue(dict, f.secAttrGeneric)),
	}
}

// bytes copies a CFData into Go memory; a missing value gives nil.
func (a systemAPI) bytes(data uintptr) []byte {
	if data == 0 {
		return nil
	}
	n := a.f.cfDataGetLength(data)
	if n == 0 {
		return []byte{}
	}
	return append([]byte(nil), unsafe.Slice(a.f.cfDataGetBytePtr(data), n)...)
}

// string copies a CFString into a Go string; a missing value gives "".
func (a systemAPI) string(str uintptr) string {
	if str == 0 {
		return ""
	}
	size := a.f.cfStringGetMaximumSize(a.f.cfStringGetLength(str), cfStringEncodingUTF8) + 1
	buf := make([]byte, size)
	if !a.f.cfStringGetCString(str, buf, size, cfStringEncodingUTF8) {
		return ""
	}
	for i, c := range buf {
		if c == 0 {
			return string(buf[:i])
		}
	}
	return string(buf)
}
