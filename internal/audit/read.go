package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Filter selects records for Read. Zero fields match everything.
type Filter struct {
	// Binary matches binary_path exactly, or binary_hash with or without
	// the "sha256:" prefix, ignoring case.
	Binary  string
	Service string
	Result  Result // compared ignoring case
	Since   time.Time
	// Limit keeps only the most recent Limit matching records. Zero or
	// less keeps all of them.
	Limit int
}

func (f *Filter) match(r *Record) bool {
	if f.Binary != "" && r.BinaryPath != f.Binary && !sameHash(r.BinaryHash, f.Binary) {
		return false
	}
	if f.Service != "" && r.Service != f.Service {
		return false
	}
	if f.Result != "" && !strings.EqualFold(string(r.Result), string(f.Result)) {
		return false
	}
	if !f.Since.IsZero() && r.Time.Before(f.Since) {
		return false
	}
	return true
}

func sameHash(a, b string) bool {
	const prefix = "sha256:"
	a = strings.ToLower(a)
	b = strings.ToLower(b)
	return strings.TrimPrefix(a, prefix) == strings.TrimPrefix(b, prefix)
}

// Read returns the records in dir that match f, oldest first, across the
// rotated files and audit.log. Lines that are not valid records are skipped;
// Verify reports them.
func Read(dir string, f Filter) ([]Record, error) {
	files, err := logFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	lr, err := newLineReader(files)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer lr.close()

	var out []Record
	for {
		ln, ok, err := lr.read()
		if err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		if !ok {
			break
		}
		if !ln.complete || ln.tooLong {
			continue
		}

		var r Record
		if err := json.Unmarshal(ln.data, &r); err != nil {
			continue
		}
		if !f.match(&r) {
			continue
		}
		out = append(out, r)

		// Drop older matches once there are twice as many as needed, so
		// memory stays bounded by the limit.
		if f.Limit > 0 && len(out) >= 2*f.Limit {
			out = append(out[:0], out[len(out)-f.Limit:]...)
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out, nil
}
