package identity

import "testing"

// BenchmarkResolveCacheHit measures what a warm connection costs: opening
// /proc/<pid>/exe, a cache hit, and the checks that the peer is unchanged.
func BenchmarkResolveCacheHit(b *testing.B) {
	cred := selfCred(b)
	r := NewResolver(Options{})
	if _, err := r.Resolve(cred, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve(cred, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolveCacheMiss measures the same with the cache disabled, so
// every call hashes the test binary. The reported MB/s is its size per call.
func BenchmarkResolveCacheMiss(b *testing.B) {
	cred := selfCred(b)
	r := NewResolver(Options{DisableCache: true})
	id, err := r.Resolve(cred, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(id.Size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve(cred, nil); err != nil {
			b.Fatal(err)
		}
	}
}
