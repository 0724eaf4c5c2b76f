package node

import (
	"bytes"
	"context"
	"fmt"

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

// runFusion reads the base and every delta from the store (fetching what is
// missing), fuses them and imports the result, returning its CID. Every peer
// computing the same job gets the same bytes and so the same CID.
func runFusion(ctx context.Context, store weightStore, job fuseJob, maxBytes int64, sums *sums) (fuseDone, error) {
	done := fuseDone{Job: job}
	faultPoint("fuse")
	rule, err := fusion.ParseRule(job.Rule)
	if err != nil {
		return done, fmt.Errorf("fusion rule %q: %w", job.Rule, err)
	}
	base, err := openWeights(ctx, store, job.Base, 4*maxBytes+(64<<20))
	if err != nil {
		return done, fmt.Errorf("fusion base: %w", err)
	}
	open := func(ctx context.Context, c cid.Cid) (*checkpoint.Reader, error) {
		return openDelta(ctx, store, c, maxBytes, base)
	}
	if rep := sums.fuse(ctx, sumFuse{job: job, base: base, open: open}); rep.handled {
		return importFused(ctx, store, done, rep.fused, rep.err)
	}
	inputs := make([]fusion.Input, len(job.Deltas))
	for i, d := range job.Deltas {
		r, err := openDelta(ctx, store, d.Delta, maxBytes, base)
		if err != nil {
			return done, fmt.Errorf("fusion delta: %w", err)
		}
		inputs[i] = fusion.Input{ID: d.Delta.String(), Examples: d.Examples, Delta: r}
	}
	var buf bytes.Buffer
	if _, err := fusion.Fuse(&buf, base, inputs, rule); err != nil {
		return done, fmt.Errorf("fuse round %d: %w", job.Round, err)
	}
	done.Bytes = int64(buf.Len())
	if done.Fused, err = store.ImportBytes(ctx, buf.Bytes()); err != nil {
		return done, fmt.Errorf("import fused base of round %d: %w", job.Round, err)
	}
	return done, nil
}

// importFused stores the fused file the running sum wrote.
func importFused(ctx context.Context, store weightStore, done fuseDone, fused []byte, err error) (fuseDone, error) {
	if err != nil {
		return done, err
	}
	done.Bytes, done.Sum = int64(len(fused)), true
	if done.Fused, err = store.ImportBytes(ctx, fused); err != nil {
		return done, fmt.Errorf("import fused base of round %d: %w", done.Job.Round, err)
	}
	return done, nil
}

func openWeights(ctx context.Context, store weightStore, c cid.Cid, max int64) (*checkpoint.Reader, error) {
	b, err := store.ReadFile(ctx, c, max)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c, err)
	}
	r, err := checkpoint.OpenBytes(b) // read in place: fusion views, not copies, its spans
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	return r, nil
}
