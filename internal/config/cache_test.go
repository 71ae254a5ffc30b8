package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// logBuffer collects log output from concurrent goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), substr)
}

func newTestCache(t *testing.T, path string) (*Cache, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	c, err := NewCache(path, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatalf("NewCache() error = %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, logs
}

func setReadServices(services ...string) func(*Config) error {
	return func(c *Config) error {
		c.RegisteredBinaries = []Binary{{Path: "/bin/a", Hash: hashA, AllowedReadServices: services}}
		return nil
	}
}

func TestCacheMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	c, _ := newTestCache(t, path)
	if got := c.Current(); len(got.RegisteredBinaries) != 0 || got.ProtocolVersion != "1" {
		t.Errorf("Current() = %+v; want an empty config", got)
	}

	if err := Update(path, setReadServices("aws")); err != nil {
		t.Fatal(err)
	}
	if b := c.Current().Lookup("/bin/a", hashA); b == nil || !b.CanRead("aws") {
		t.Errorf("Lookup after the file was created = %+v; want an entry reading aws", b)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if b := c.Current().Lookup("/bin/a", hashA); b != nil {
		t.Errorf("Lookup after the file was removed = %+v; want nil", b)
	}
}

func TestCacheRejectsInvalidStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(`{"oops": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := NewCache(path, nil); err == nil {
		t.Errorf("NewCache(invalid file) = %v; want an error", c)
	}
}

func TestCachePicksUpEveryUpdate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := Update(path, setReadServices("s000")); err != nil {
		t.Fatal(err)
	}
	c, _ := newTestCache(t, path)

	// Each Update writes a file of the same size, often within one
	// timestamp tick, so only the file identity tells the versions apart.
	// A revocation must be visible on the first call after Update returns.
	for i := range 200 {
		service := fmt.Sprintf("s%03d", i)
		if err := Update(path, setReadServices(service)); err != nil {
			t.Fatal(err)
		}
		b := c.Current().Lookup("/bin/a", hashA)
		if b == nil || !b.CanRead(service) {
			t.Fatalf("after Update %d: Lookup = %+v; want an entry reading %q", i, b, service)
		}
	}
}

func TestCacheKeepsLastGoodConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := Update(path, setReadServices("aws")); err != nil {
		t.Fatal(err)
	}
	c, logs := newTestCache(t, path)
	good := c.Current()

	if err := os.WriteFile(path+".new", []byte(`{"registered_binaries": [{"path": "/bin/a"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if got := c.Current(); got != good {
			t.Fatalf("Current() after an invalid edit = %+v; want the last good config", got)
		}
	}
	if err := c.LoadError(); err == nil || !strings.Contains(err.Error(), `missing field "hash"`) {
		t.Errorf("LoadError() = %v; want the parse error", err)
	}
	if n := logs.count("config reload failed"); n != 1 {
		t.Errorf("reload failure logged %d times; want once", n)
	}

	// A second invalid edit is a new change and is logged again.
	if err := os.WriteFile(path, []byte(`{"registered_binaries": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Current()
	c.Current()
	if n := logs.count("config reload failed"); n != 2 {
		t.Errorf("reload failure logged %d times after a second edit; want 2", n)
	}

	if err := Update(path, func(*Config) error { return nil }); err == nil {
		t.Error("Update() on the invalid file succeeded; want the parse error")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := Update(path, setReadServices("gcp")); err != nil {
		t.Fatal(err)
	}
	if b := c.Current().Lookup("/bin/a", hashA); b == nil || !b.CanRead("gcp") {
		t.Errorf("Lookup after the fix = %+v; want an entry reading gcp", b)
	}
	if err := c.LoadError(); err != nil {
		t.Errorf("LoadError() after the fix = %v; want nil", err)
	}
}

func TestCacheInPlaceEdit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := Update(path, setReadServices("aws")); err != nil {
		t.Fatal(err)
	}
	c, _ := newTestCache(t, path)
	c.Current()

	// An editor that writes in place keeps the inode; the longer content
	// changes the size.
	if err := Update(path+".tmp", setReadServices("aws", "gcp")); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path + ".tmp")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if b := c.Current().Lookup("/bin/a", hashA); b == nil || !b.CanRead("gcp") {
		t.Errorf("Lookup after an in-place edit = %+v; want an entry reading gcp", b)
	}
}

func TestCacheConcurrentReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := Update(path, setReadServices("s0")); err != nil {
		t.Fatal(err)
	}
	c, _ := newTestCache(t, path)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if b := c.Current().Lookup("/bin/a", hashA); b == nil {
					t.Error("Lookup during updates = nil; want an entry")
					return
				}
			}
		})
	}
	for i := range 50 {
		if err := Update(path, setReadServices(fmt.Sprintf("s%d", i))); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	if b := c.Current().Lookup("/bin/a", hashA); b == nil || !b.CanRead("s49") {
		t.Errorf("Lookup after updates = %+v; want an entry reading s49", b)
	}
}

// BenchmarkCacheCurrent measures the hot path: one stat and a comparison
// per call, plus the indexed lookup the daemon does next.
func BenchmarkCacheCurrent(b *testing.B) {
	path := filepath.Join(b.TempDir(), "config.json")
	err := Update(path, func(c *Config) error {
		for i := range 200 {
			c.RegisteredBinaries = append(c.RegisteredBinaries, Binary{Path: fmt.Sprintf("/bin/tool%d", i), Hash: hashA})
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewCache(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if c.Current().Lookup("/bin/tool150", hashA) == nil {
				b.Error("Lookup = nil")
				return
			}
		}
	})
}
