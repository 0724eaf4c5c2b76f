package p2p

import (
	"context"
	"fmt"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// Stored reports whether every block of the UnixFS file rooted at c is in
// the local store, and the file size its root declares. It asks no peer
// and reads no raw leaf: only the dag-pb nodes that hold links. Any other
// root (a dag-cbor record, whose links reach the whole chain) counts as
// stored when the root block is, without a walk. Every stored
// block was checked against its CID when it was stored, so nothing is
// hashed again; Fetch, which checks every block it visits, is for content
// that may be missing.
func (b *Blocks) Stored(ctx context.Context, c cid.Cid) (int64, bool, error) {
	if err := b.rlock(); err != nil {
		return 0, false, err
	}
	defer b.gc.RUnlock()
	return b.stored(ctx, c)
}

// stored is Stored for a caller holding the GC gate.
func (b *Blocks) stored(ctx context.Context, c cid.Cid) (int64, bool, error) {
	root, err := b.bs.Get(ctx, c)
	if ipld.IsNotFound(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("p2p stored %s: %w", c, err)
	}
	if c.Prefix().Codec != cid.DagProtobuf {
		return declaredSize(root), true, nil
	}
	ok, err := b.storedBelow(ctx, root)
	if err != nil || !ok {
		return 0, false, err
	}
	return declaredSize(root), true, nil
}

// storedBelow reports whether every block linked from blk, at any depth,
// is stored. Raw leaves are only looked up; each block is visited once.
func (b *Blocks) storedBelow(ctx context.Context, blk blocks.Block) (bool, error) {
	seen := map[cid.Cid]bool{}
	stack := []blocks.Block{blk}
	for len(stack) > 0 {
		kids, err := links(stack[len(stack)-1])
		stack = stack[:len(stack)-1]
		if err != nil {
			return false, err
		}
		for _, k := range kids {
			if seen[k] {
				continue
			}
			seen[k] = true
			next, ok, err := b.storedBlock(ctx, k)
			if err != nil || !ok {
				return false, err
			}
			if next != nil {
				stack = append(stack, next)
			}
		}
	}
	return true, nil
}

// storedBlock looks c up: a block that can link to others is read and
// returned, a raw leaf only checked for.
func (b *Blocks) storedBlock(ctx context.Context, c cid.Cid) (blocks.Block, bool, error) {
	if c.Prefix().Codec == cid.Raw {
		ok, err := b.bs.Has(ctx, c)
		return nil, ok, err
	}
	blk, err := b.bs.Get(ctx, c)
	if ipld.IsNotFound(err) {
		return nil, false, nil
	}
	return blk, err == nil, err
}
