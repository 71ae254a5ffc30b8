package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
)

// Cache serves the current config to the daemon. Every call to Current
// compares one stat of the file with the file it last loaded and reloads
// when they differ, so a change written by Update is in effect on the next
// call after Update returns. There is no time-based caching.
//
// On Unix the Cache keeps the last loaded file open. Its inode therefore
// stays allocated, and a file written later by rename can never reuse the
// inode number and look unchanged to the stat comparison.
type Cache struct {
	path   string
	logger *slog.Logger

	state atomic.Pointer[cacheState]
	// mu serializes reloads and guards closed and the open file in state.
	mu     sync.Mutex
	closed bool
}

// cacheState is immutable once stored.
type cacheState struct {
	id fileID
	// cfg is the last config that loaded without error.
	cfg *Config
	// err is the error from loading the file identified by id, or nil.
	err error
	// file is the open file cfg was read from, or nil (see Cache).
	file *os.File
}

// NewCache loads the config at path. It fails when the file exists but is
// invalid, because the daemon must not start without a valid policy. A
// missing file is an empty config. A nil logger discards log output.
func NewCache(path string, logger *slog.Logger) (*Cache, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Cache{path: path, logger: logger}
	st, err := c.load(nil, c.stat())
	if err != nil {
		return nil, err
	}
	c.state.Store(st)
	return c, nil
}

// Path returns the path of the config file.
func (c *Cache) Path() string { return c.path }

// Current returns the config in effect. When the file was edited into an
// invalid state it keeps returning the last valid config and logs the
// error once per change of the file. The result is shared and read-only.
func (c *Cache) Current() *Config {
	st := c.state.Load()
	if c.stat() == st.id {
		return st.cfg
	}
	return c.reload().cfg
}

// stat returns the identity of the file at the path. A failed stat gets an
// identity of its own so that a lasting failure is logged only once.
func (c *Cache) stat() fileID {
	id, err := statFileID(c.path)
	if err != nil {
		return fileID{unreadable: true}
	}
	return id
}

// LoadError returns the error that prevents the current file content from
// taking effect, or nil when Current reflects the file. It checks the file
// first, like Current.
func (c *Cache) LoadError() error {
	c.Current()
	return c.state.Load().err
}

// Close releases the file the Cache keeps open. Current keeps working
// after Close but without the guard against inode reuse.
func (c *Cache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	st := c.state.Load()
	if st.file == nil {
		return nil
	}
	c.state.Store(&cacheState{id: st.id, cfg: st.cfg, err: st.err})
	return st.file.Close()
}

func (c *Cache) reload() *cacheState {
	c.mu.Lock()
	defer c.mu.Unlock()

	old := c.state.Load()
	id := c.stat()
	if id == old.id {
		return old // another goroutine reloaded first
	}
	st, err := c.load(old, id)
	if err != nil {
		// Log once: the next call finds the same file identity in st.id
		// and does not come here again until the file changes.
		c.logger.Error("config reload failed, keeping the last valid config", "path", c.path, "err", err)
		c.state.Store(st)
		return st
	}
	if old.file != nil && old.file != st.file {
		old.file.Close()
	}
	c.logger.Info("config reloaded", "path", c.path, "registered_binaries", len(st.cfg.RegisteredBinaries))
	c.state.Store(st)
	return st
}

// load reads the file and returns the state for it. On error the returned
// state keeps the config and open file of old and is identified by what
// was read, or by statID when the file could not be opened.
func (c *Cache) load(old *cacheState, statID fileID) (*cacheState, error) {
	fail := func(id fileID, err error) (*cacheState, error) {
		if old == nil {
			return nil, err
		}
		return &cacheState{id: id, cfg: old.cfg, err: err, file: old.file}, err
	}

	f, err := os.Open(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return &cacheState{id: fileID{missing: true}, cfg: Empty()}, nil
	}
	if err != nil {
		return fail(statID, fmt.Errorf("load config: %w", err))
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()

	// The identity comes from the open file, so a rename between opening
	// and reading makes the next Current call reload again.
	id, err := fileIDOf(f)
	if err != nil {
		return fail(statID, fmt.Errorf("load config: stat %q: %w", c.path, err))
	}
	data, err := readLimited(f, c.path)
	if err != nil {
		return fail(id, fmt.Errorf("load config: %w", err))
	}
	cfg, err := parseFile(c.path, data)
	if err != nil {
		return fail(id, err)
	}

	st := &cacheState{id: id, cfg: cfg}
	if keepFileOpen && !c.closed {
		st.file = f
		keep = true
	}
	return st, nil
}

// Update applies fn to the config file under its lock, as the package-level
// Update does, and the next Current call returns the result.
func (c *Cache) Update(fn func(*Config) error) error {
	return Update(c.path, fn)
}
