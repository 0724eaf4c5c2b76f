package p2p

import (
	"bytes"
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

// Pin is one pinned root. A recursive pin keeps the whole DAG the root
// reaches (dag-pb links and every link inside dag-cbor blocks); a direct pin
// keeps the one block, whatever it links to.
type Pin struct {
	CID    cid.Cid
	Direct bool
}

// pinsPrefix is where pins live in the block store's datastore.
var pinsPrefix = ds.NewKey("/coldnode/pins")

// directValue marks a direct pin; a recursive pin's value is empty.
var directValue = []byte("direct")

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

// syncPins makes the pin set and every block stored so far durable.
func (b *Blocks) syncPins(ctx context.Context) error {
	if b.blobs != nil {
		if err := b.blobs.sync(); err != nil {
			return fmt.Errorf("p2p pins: sync: %w", err)
		}
	}
	if err := b.store.Sync(ctx, ds.NewKey("/")); err != nil {
		return fmt.Errorf("p2p pins: sync: %w", err)
	}
	return nil
}

// Pins returns the pinned roots, recursive and direct.
func (b *Blocks) Pins(ctx context.Context) ([]cid.Cid, error) {
	ps, err := b.PinList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]cid.Cid, len(ps))
	for i, p := range ps {
		out[i] = p.CID
	}
	return out, nil
}

// PinList returns every pin with its kind, sorted by key.
func (b *Blocks) PinList(ctx context.Context) ([]Pin, error) {
	if err := b.rlock(); err != nil {
		return nil, err
	}
	defer b.gc.RUnlock()
	return b.listPins(ctx)
}

// SetPins makes want the whole pin set in one durable batch: pins not in
// want are removed, the others written with their kind. It fetches nothing
// (use Pin for that): a pinned block that is not local is skipped by GC
// with a warning. It returns how many pins were added and removed.
func (b *Blocks) SetPins(ctx context.Context, want []Pin) (added, removed int, err error) {
	if err := b.rlock(); err != nil {
		return 0, 0, err
	}
	defer b.gc.RUnlock()
	have, err := b.listPins(ctx)
	if err != nil {
		return 0, 0, err
	}
	batch, err := b.store.Batch(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("p2p pins: %w", err)
	}
	added, removed, err = diffPins(ctx, batch, have, want)
	if err != nil {
		return 0, 0, fmt.Errorf("p2p pins: %w", err)
	}
	if err := batch.Commit(ctx); err != nil {
		return 0, 0, fmt.Errorf("p2p pins: commit: %w", err)
	}
	return added, removed, b.syncPins(ctx)
}

// diffPins writes into batch what turns have into want.
func diffPins(ctx context.Context, batch ds.Batch, have, want []Pin) (added, removed int, err error) {
	wanted := make(map[cid.Cid]bool, len(want)) // CID -> direct
	for _, p := range want {
		d, ok := wanted[p.CID]
		wanted[p.CID] = p.Direct && (d || !ok) // recursive wins over direct
	}
	old := make(map[cid.Cid]bool, len(have))
	for _, p := range have {
		old[p.CID] = p.Direct
		if _, ok := wanted[p.CID]; !ok {
			removed++
			if err := batch.Delete(ctx, pinsPrefix.Child(pinKey(p.CID))); err != nil {
				return 0, 0, err
			}
		}
	}
	for c, direct := range wanted {
		if d, ok := old[c]; ok && d == direct {
			continue
		}
		if _, ok := old[c]; !ok {
			added++
		}
		if err := batch.Put(ctx, pinsPrefix.Child(pinKey(c)), pinValue(direct)); err != nil {
			return 0, 0, err
		}
	}
	return added, removed, nil
}

func pinValue(direct bool) []byte {
	if direct {
		return directValue
	}
	return nil
}

func (b *Blocks) listPins(ctx context.Context) ([]Pin, error) {
	res, err := b.pins.Query(ctx, query.Query{Orders: []query.Order{query.OrderByKey{}}})
	if err != nil {
		return nil, fmt.Errorf("p2p pins: %w", err)
	}
	defer res.Close()
	var out []Pin
	for r := range res.Next() {
		if r.Error != nil {
			return nil, fmt.Errorf("p2p pins: %w", r.Error)
		}
		c, err := cid.Decode(ds.RawKey(r.Key).BaseNamespace())
		if err != nil {
			return nil, fmt.Errorf("p2p pins: bad pin key %q: %w", r.Key, err)
		}
		out = append(out, Pin{CID: c, Direct: bytes.Equal(r.Value, directValue)})
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
	if err := b.blobs.compactPacks(ctx); err != nil {
		return st, fmt.Errorf("p2p gc: %w", err)
	}
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
// multihashes (the blockstore's keys) it reaches; a direct pin keeps only
// its own block.
func (b *Blocks) reachable(ctx context.Context) (map[string]bool, error) {
	pins, err := b.listPins(ctx)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	var roots []cid.Cid
	for _, p := range pins {
		if p.Direct {
			keep[string(p.CID.Hash())] = true
		} else {
			roots = append(roots, p.CID)
		}
	}
	walked := map[string]bool{}
	for len(roots) > 0 {
		c := roots[len(roots)-1]
		roots = roots[:len(roots)-1]
		if walked[string(c.Hash())] {
			continue
		}
		walked[string(c.Hash())], keep[string(c.Hash())] = true, true
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
