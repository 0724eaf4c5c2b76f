package node

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/ipfs/go-cid"
)

// fuseJob asks for base + combine(deltas) under rule.
type fuseJob struct {
	Round  uint64
	Base   cid.Cid
	Deltas []fuseInput
	Rule   string
}

type fuseInput struct {
	Delta    cid.Cid
	Examples int64
}

// fuseDone reports a fusion back to the loop.
type fuseDone struct {
	Job   fuseJob
	Fused cid.Cid
	Bytes int64
	Err   error
	Sum   bool // written from the running sum (see sums)
}

// fusedStore is the store a fusion reads from and writes its result to.
type fusedStore interface {
	weightStore
	fileStore
	Import(ctx context.Context, r io.Reader) (cid.Cid, error)
}

// runFusion reads the base (held in memory, else stored) and every delta
// from the store (fetching what is missing), fuses them and imports the
// result, returning its CID. Every peer computing the same job gets the
// same bytes and so the same CID. Under a mean rule the running sum serves
// the job when it covers its round; the fused file streams into the store
// either way, never held whole, unless held keeps bases of this size in
// memory (heldBases).
func runFusion(ctx context.Context, st fusedStore, job fuseJob, maxBytes int64, sums *sums, held *heldBases) (fuseDone, error) {
	done := fuseDone{Job: job}
	faultPoint("fuse")
	rule, err := fusion.ParseRule(job.Rule)
	if err != nil {
		return done, fmt.Errorf("fusion rule %q: %w", job.Rule, err)
	}
	base, size, closeBase, err := openBase(ctx, st, held, job.Base, 4*maxBytes+(64<<20))
	if err != nil {
		return done, fmt.Errorf("fusion base: %w", err)
	}
	defer closeBase()
	open := func(ctx context.Context, c cid.Cid) (*checkpoint.Reader, error) {
		return openDelta(ctx, st, c, maxBytes, base)
	}
	if sums != nil {
		done.Fused, done.Bytes, err = importFused(ctx, st, held, size, func(w io.Writer) error {
			return sums.fuse(ctx, sumFuse{job: job, base: base, open: open, w: w})
		})
		if !errors.Is(err, errNotCovered) {
			done.Sum = true
			return done, fusionError(job, err)
		}
	}
	inputs := make([]fusion.Input, len(job.Deltas))
	for i, d := range job.Deltas {
		r, err := open(ctx, d.Delta)
		if err != nil {
			return done, fmt.Errorf("fusion delta: %w", err)
		}
		inputs[i] = fusion.Input{ID: d.Delta.String(), Examples: d.Examples, Delta: r}
	}
	done.Fused, done.Bytes, err = importFused(ctx, st, held, size, func(w io.Writer) error {
		_, err := fusion.Fuse(w, base, inputs, rule)
		return err
	})
	return done, fusionError(job, err)
}

// fusionError names the round in a fusion's error; a failed import is
// already named as one.
func fusionError(job fuseJob, err error) error {
	if err == nil || errors.Is(err, errImport) {
		return err
	}
	return fmt.Errorf("fuse round %d: %w", job.Round, err)
}

// errImport marks a failure to store the fused file (not a verdict on the
// inputs).
var errImport = errors.New("import fused base")

// importStream imports into st what write writes, through a pipe, and
// syncs the store: the file is never held whole. It returns write's error
// as it is, and a failed import wrapped in errImport.
func importStream(ctx context.Context, st fusedStore, write func(io.Writer) error) (cid.Cid, int64, error) {
	pr, pw := io.Pipe()
	var n int64
	werr := make(chan error, 1)
	go func() {
		cw := &countingWriter{w: pw}
		err := write(cw)
		n = cw.n
		pw.CloseWithError(err) // nil: the reader sees EOF
		werr <- err
	}()
	c, err := st.Import(ctx, pr)
	pr.CloseWithError(errImport) // a writer still writing stops
	if wErr := <-werr; wErr != nil {
		return cid.Undef, 0, wErr
	}
	if err != nil {
		return cid.Undef, 0, fmt.Errorf("%w: %w", errImport, err)
	}
	return c, n, nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// importFused imports what write writes: held in memory when held keeps
// bases of size bytes (a fused file is its base's size), else streamed.
func importFused(ctx context.Context, st fusedStore, held *heldBases, size int64, write func(io.Writer) error) (cid.Cid, int64, error) {
	if buf := held.buffer(size); buf != nil {
		return importHeld(ctx, st, held, buf, write)
	}
	return importStream(ctx, st, write)
}

// importHeld writes the fused file into buf, imports it and holds it
// (heldBases): the file is whole in memory, which the trainer and the next
// fusion then read instead of the store. A write that failed because ctx
// ended may still be going on (the running sum's keeper answers a request
// its asker stopped waiting for), so its buffer is left to the collector.
func importHeld(ctx context.Context, st fusedStore, held *heldBases, buf []byte, write func(io.Writer) error) (cid.Cid, int64, error) {
	w := &appendWriter{b: buf}
	if err := write(w); err != nil {
		if ctx.Err() == nil {
			held.drop(w.b)
		}
		return cid.Undef, 0, err
	}
	c, err := st.ImportBytes(ctx, w.b)
	if err != nil {
		held.drop(w.b)
		return cid.Undef, 0, fmt.Errorf("%w: %w", errImport, err)
	}
	held.hold(c, w.b)
	return c, int64(len(w.b)), nil
}

// appendWriter appends what is written to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// openBase opens the weights c for reading in place, and gives the file's
// size: held in memory, else stored, read a block at a time (a fusion
// reads the base once, in order, and never holds it whole). A held base
// read under a ctx that ended is not given back: the running sum's keeper
// may still be reading it for a request its asker stopped waiting for.
func openBase(ctx context.Context, st fileStore, held *heldBases, c cid.Cid, max int64) (*checkpoint.Reader, int64, func(), error) {
	if b, done := held.get(c); b != nil {
		r, err := checkpoint.OpenBytes(b)
		if err != nil {
			done()
			return nil, 0, nil, fmt.Errorf("%s (held): %w", c, err)
		}
		return r, int64(len(b)), func() {
			if ctx.Err() == nil {
				done()
			}
		}, nil
	}
	f, err := st.OpenFile(ctx, c, max)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("read %s: %w", c, err)
	}
	r, err := checkpoint.Open(f, f.Size())
	if err != nil {
		f.Close()
		return nil, 0, nil, fmt.Errorf("%s: %w", c, err)
	}
	return r, f.Size(), func() { f.Close() }, nil
}
