package p2p

import (
	"bytes"
	"context"
	"fmt"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	"github.com/multiformats/go-multihash"

	"github.com/coldnode/coldnode/p2p/lanehash"
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

// verifyMany checks the blocks of run marked for a check against their
// CIDs and returns how many at its front passed, with the error of the
// first that did not. The sha2-256 ones are hashed together (lanehash).
func verifyMany(run []pending) (int, error) {
	passed := hashTogether(run)
	for i, p := range run {
		if !p.check || passed[i] {
			continue
		}
		if err := verify(p.blk.Cid(), p.blk.RawData()); err != nil {
			return i, err
		}
	}
	return len(run), nil
}

// hashTogether hashes the blocks of run marked for a check whose CIDs are
// sha2-256 in one lanehash.Sum256 and reports which of them match.
func hashTogether(run []pending) []bool {
	var idx []int
	var msgs, want [][]byte
	for i, p := range run {
		if d, ok := sha256Digest(p.blk.Cid()); ok && p.check {
			idx, msgs, want = append(idx, i), append(msgs, p.blk.RawData()), append(want, d)
		}
	}
	sums := make([][lanehash.Size]byte, len(msgs))
	lanehash.Sum256(sums, msgs)
	passed := make([]bool, len(run))
	for k, i := range idx {
		passed[i] = bytes.Equal(sums[k][:], want[k])
	}
	return passed
}

// sha256Digest returns the digest of c's multihash if it is a full-length
// sha2-256.
func sha256Digest(c cid.Cid) ([]byte, bool) {
	d, err := multihash.Decode(c.Hash())
	if err != nil || d.Code != multihash.SHA2_256 || d.Length != lanehash.Size {
		return nil, false
	}
	return d.Digest, true
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
