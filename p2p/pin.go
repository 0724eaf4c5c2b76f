package p2p

import (
	"context"
	"fmt"
	"math"

	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	mh "github.com/multiformats/go-multihash"
)

// GCStats reports what a garbage collection did.
type GCStats struct {
	Kept, Removed int   // blocks
	Freed         int64 // bytes of block data removed
}

func pinKey(c cid.Cid) ds.Key { return ds.NewKey(c.String()) }

// Pin fetches whatever is missing of the DAG rooted at c and records a
// recursive pin, durably. Pinned DAGs survive GC.
func (b *Blocks) Pin(ctx context.Context, c cid.Cid) error {
	if err := b.rlock(); err != nil {
		return err
	}
	defer b.gc.RUnlock()
	if _, err := b.fetch(ctx, c, math.MaxInt64/2, nil); err != nil {
		return fmt.Errorf("p2p pin: %w", err)
	}
	if err := b.pins.Put(ctx, pinKey(c), nil); err != nil {
		return fmt.Errorf("p2p pin %s: %w", c, err)
	}
	return b.syncPins(ctx)
}

// Unpin removes the pin of c; its blocks go at the next GC unless another
// pin reaches them.
func (b *Blocks) Unpin(ctx context.Context, c cid.Cid) error {
	if err := b.rlock(); err != nil {
		return err
	}
	defer b.gc.RUnlock()
	if err := b.pins.Delete(ctx, pinKey(c)); err != nil {
		return fmt.Errorf("p2p unpin %s: %w", c, err)
	}
	return b.syncPins(ctx)
}

func (b *Blocks) syncPins(ctx context.Context) error {
	if err := b.store.Sync(ctx, ds.NewKey("/")); err != nil {
		return fmt.Errorf("p2p pins: sync: %w", err)
	}
	return nil
}

// Pins returns the pinned roots.
func (b *Blocks) Pins(ctx context.Context) ([]cid.Cid, error) {
	if err := b.rlock(); err != nil {
		return nil, err
	}
	defer b.gc.RUnlock()
	return b.listPins(ctx)
}

func (b *Blocks) listPins(ctx context.Context) ([]cid.Cid, error) {
	res, err := b.pins.Query(ctx, query.Query{KeysOnly: true, Orders: []query.Order{query.OrderByKey{}}})
	if err != nil {
		return nil, fmt.Errorf("p2p pins: %w", err)
	}
	defer res.Close()
	var out []cid.Cid
	for r := range res.Next() {
		if r.Error != nil {
			return nil, fmt.Errorf("p2p pins: %w", r.Error)
		}
		c, err := cid.Decode(ds.RawKey(r.Key).BaseNamespace())
		if err != nil {
			return nil, fmt.Errorf("p2p pins: bad pin key %q: %w", r.Key, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// GC deletes every local block no pin reaches. It blocks imports, fetches
// and pins while it runs.
func (b *Blocks) GC(ctx context.Context) (GCStats, error) {
	b.gc.Lock()
	defer b.gc.Unlock()
	if b.closed {
		return GCStats{}, ErrClosed
	}
	keep, err := b.reachable(ctx)
	if err != nil {
		return GCStats{}, fmt.Errorf("p2p gc: %w", err)
	}
	keys, err := b.bs.AllKeysChan(ctx)
	if err != nil {
		return GCStats{}, fmt.Errorf("p2p gc: list blocks: %w", err)
	}
	var st GCStats
	for k := range keys {
		if err := b.sweep(ctx, k, keep, &st); err != nil {
			b.metrics.removed(st.Removed)
			return st, fmt.Errorf("p2p gc: %w", err)
		}
	}
	b.metrics.removed(st.Removed)
	return st, ctx.Err()
}

func (b *Blocks) sweep(ctx context.Context, k cid.Cid, keep map[string]bool, st *GCStats) error {
	if keep[string(k.Hash())] {
		st.Kept++
		return nil
	}
	size, err := b.bs.GetSize(ctx, k)
	if err != nil {
		return err
	}
	if err := b.bs.DeleteBlock(ctx, k); err != nil {
		return err
	}
	st.Removed++
	st.Freed += int64(size)
	return nil
}

// reachable walks every pinned DAG in the local store and returns the
// multihashes (the blockstore's keys) it reaches.
func (b *Blocks) reachable(ctx context.Context) (map[string]bool, error) {
	roots, err := b.listPins(ctx)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for len(roots) > 0 {
		c := roots[len(roots)-1]
		roots = roots[:len(roots)-1]
		if keep[string(c.Hash())] {
			continue
		}
		keep[string(c.Hash())] = true
		kids, err := b.localLinks(ctx, c)
		if err != nil {
			return nil, err
		}
		roots = append(roots, kids...)
	}
	return keep, nil
}

func (b *Blocks) localLinks(ctx context.Context, c cid.Cid) ([]cid.Cid, error) {
	if c.Prefix().MhType == mh.IDENTITY {
		return nil, nil
	}
	blk, err := b.bs.Get(ctx, c)
	if err != nil {
		b.log.Warn("pinned block missing from the store", "cid", c, "err", err)
		return nil, nil
	}
	return links(blk)
}
