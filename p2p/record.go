package p2p

import (
	"context"
	"fmt"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
)

// verify checks that data hashes to c.
func verify(c cid.Cid, data []byte) error {
	got, err := c.Prefix().Sum(data)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadBlock, c, err)
	}
	if !got.Equals(c) {
		return fmt.Errorf("%w: %s (bytes hash to %s)", ErrBadBlock, c, got)
	}
	return nil
}

// PutBlock stores one block (a record, typically dag-cbor) after checking it
// against its CID, and makes it available to peers.
func (b *Blocks) PutBlock(ctx context.Context, blk blocks.Block) error {
	if err := verify(blk.Cid(), blk.RawData()); err != nil {
		return fmt.Errorf("p2p put: %w", err)
	}
	if err := b.rlock(); err != nil {
		return err
	}
	defer b.gc.RUnlock()
	if err := b.bserv.AddBlock(ctx, blk); err != nil {
		return fmt.Errorf("p2p put %s: %w", blk.Cid(), err)
	}
	b.announce(blk.Cid())
	return nil
}

// Put stores data under c (see PutBlock).
func (b *Blocks) Put(ctx context.Context, c cid.Cid, data []byte) error {
	blk, err := blocks.NewBlockWithCid(data, c)
	if err != nil {
		return fmt.Errorf("p2p put: %w", err)
	}
	return b.PutBlock(ctx, blk)
}

// GetBlock returns the block c from the local store or, failing that, from
// peers over bitswap (bounded by ctx), checked against c either way.
func (b *Blocks) GetBlock(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	if err := b.rlock(); err != nil {
		return nil, err
	}
	defer b.gc.RUnlock()
	blk, err := b.bserv.GetBlock(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("p2p get %s: %w", c, err)
	}
	if err := verify(c, blk.RawData()); err != nil {
		return nil, fmt.Errorf("p2p get: %w", err)
	}
	return blk, nil
}

// Has reports whether block c is stored locally.
func (b *Blocks) Has(ctx context.Context, c cid.Cid) (bool, error) {
	if err := b.rlock(); err != nil {
		return false, err
	}
	defer b.gc.RUnlock()
	ok, err := b.bs.Has(ctx, c)
	if err != nil {
		return false, fmt.Errorf("p2p has %s: %w", c, err)
	}
	return ok, nil
}

// Sync makes every block and pin stored so far durable. The datastore
// writes without syncing its log, so a process killed right after a Put can
// lose the block; call Sync before recording elsewhere that a block is
// stored.
func (b *Blocks) Sync(ctx context.Context) error {
	if err := b.rlock(); err != nil {
		return err
	}
	defer b.gc.RUnlock()
	if err := b.store.Sync(ctx, ds.NewKey("/")); err != nil {
		return fmt.Errorf("p2p sync: %w", err)
	}
	if b.blobs != nil {
		if err := b.blobs.sync(); err != nil {
			return fmt.Errorf("p2p sync: %w", err)
		}
	}
	return nil
}

// VerifyStats is what Verify read.
type VerifyStats struct {
	Blocks int   // blocks read
	Bytes  int64 // bytes of block data read
	Bad    int   // blocks that could not be read or do not hash to their CID
}

// Verify reads every locally stored block and re-hashes it against its CID,
// calling bad for each one that fails (with an error wrapping ErrBadBlock
// when the bytes are wrong). It never fetches from peers.
func (b *Blocks) Verify(ctx context.Context, bad func(c cid.Cid, err error)) (VerifyStats, error) {
	if err := b.rlock(); err != nil {
		return VerifyStats{}, err
	}
	defer b.gc.RUnlock()
	keys, err := b.bs.AllKeysChan(ctx)
	if err != nil {
		return VerifyStats{}, fmt.Errorf("p2p verify: list blocks: %w", err)
	}
	var st VerifyStats
	for k := range keys {
		st.Blocks++
		blk, err := b.bs.Get(ctx, k)
		if err == nil {
			st.Bytes += int64(len(blk.RawData()))
			err = verify(k, blk.RawData())
		}
		if err != nil {
			st.Bad++
			bad(k, err)
		}
	}
	return st, ctx.Err()
}
