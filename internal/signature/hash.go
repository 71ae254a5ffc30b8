package signature

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

const (
	// chunkSize and chunkCount size the read pipeline of HashAndVerify:
	// 4 MiB of buffers in flight, enough for reading to stay ahead of hashing.
	chunkSize  = 1 << 20
	chunkCount = 4
)

// chunk is one buffer of the read pipeline.
type chunk struct {
	data []byte
	// pending counts the consumers still using data, and the one that
	// brings it to zero returns the chunk to the free list.
	pending atomic.Int32
}

// HashAndVerify reads the first size bytes of r once and returns their
// SHA-256 and the positions in keys of the public keys whose KCAS trailer
// signature verifies (nil when there is no trailer or none verifies).
//
// Reading, SHA-256 and the per-key SHA-512 of signature verification run
// in separate goroutines over shared buffers. On a machine with several
// cores, a signed file therefore costs about as much as its slowest hash,
// not the sum of all of them.
//
// NOTE: that slowest hash is SHA-512. On amd64 with SHA-NI, SHA-256 is much
// faster, so a signed file hashes at about 0.6 times the speed of an
// unsigned one (BenchmarkHashAndVerify on a 2-core Xeon, 100 MB file).
func HashAndVerify(r io.ReaderAt, size int64, keys []ed25519.PublicKey) (sha [32]byte, signedBy []int, err error) {
	trailer, signed, err := ReadTrailer(r, size)
	if err != nil {
		return sha, nil, fmt.Errorf("hash and verify: %w", err)
	}

	identity := sha256.New()
	consumers := []io.Writer{identity}
	var verifier *Verifier
	if signed && len(keys) > 0 {
		verifier = NewVerifier(trailer, keys)
		consumers = append(consumers, io.Writer(&prefixWriter{w: verifier, limit: trailer.MessageSize}))
	}

	if err := fanOut(r, size, consumers); err != nil {
		return sha, nil, fmt.Errorf("hash and verify: %w", err)
	}
	identity.Sum(sha[:0])

	if verifier == nil {
		return sha, nil, nil
	}
	signedBy, err = verifier.Result()
	if err != nil {
		return sha, nil, fmt.Errorf("hash and verify: %w", err)
	}
	return sha, signedBy, nil
}

// prefixWriter passes on only the first limit bytes written to it.
type prefixWriter struct {
	w       io.Writer
	limit   int64
	written int64
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	if remaining := p.limit - p.written; int64(len(b)) > remaining {
		b = b[:max(remaining, 0)]
	}
	if len(b) > 0 {
		if _, err := p.w.Write(b); err != nil {
			return 0, err
		}
		p.written += int64(len(b))
	}
	return n, nil
}

// fanOut reads the first size bytes of r in order and writes every chunk to
// each consumer, each consumer in its own goroutine. Consumers must not fail
// except by a bug, so their errors are reported after the read finishes.
func fanOut(r io.ReaderAt, size int64, consumers []io.Writer) error {
	// Small files get one buffer of their own size instead of the full set.
	bufferSize := int(min(chunkSize, max(size, 1)))
	bufferCount := int(min(chunkCount, (size+int64(bufferSize)-1)/int64(bufferSize)))
	free := make(chan *chunk, chunkCount)
	for range max(bufferCount, 1) {
		free <- &chunk{data: make([]byte, bufferSize)}
	}

	queues := make([]chan *chunk, len(consumers))
	consumerErrs := make([]error, len(consumers))
	var wg sync.WaitGroup
	for i, w := range consumers {
		queues[i] = make(chan *chunk, chunkCount)
		wg.Go(func() {
			for c := range queues[i] {
				if consumerErrs[i] == nil {
					_, consumerErrs[i] = w.Write(c.data)
				}
				if c.pending.Add(-1) == 0 {
					free <- c
				}
			}
		})
	}

	readErr := readChunks(r, size, free, queues)
	for _, q := range queues {
		close(q)
	}
	wg.Wait()

	if readErr != nil {
		return readErr
	}
	for _, err := range consumerErrs {
		if err != nil {
			return err
		}
	}
	return nil
}

// readChunks fills free chunks from r and queues each one for every consumer.
func readChunks(r io.ReaderAt, size int64, free chan *chunk, queues []chan *chunk) error {
	for offset := int64(0); offset < size; {
		c := <-free
		n := int(min(int64(cap(c.data)), size-offset))
		c.data = c.data[:n]

		read, err := r.ReadAt(c.data, offset)
		if read < n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read at offset %d: %w", offset+int64(read), err)
		}

		c.pending.Store(int32(len(queues)))
		for _, q := range queues {
			q <- c
		}
		offset += int64(n)
	}
	return nil
}
