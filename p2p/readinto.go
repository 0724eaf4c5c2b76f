package p2p

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// ReadInto returns the bytes of the stored UnixFS file c, in dst's memory
// when it is large enough (else in new memory, which buf returns for
// reuse, as it does dst), reading each large leaf
// from its pack or blob file straight into its place, checked against its
// record's CRC as every read is, with no block buffer between and nothing
// copied. The leaves are read last to first: each record's 16-byte header
// lands just before its leaf, over the tail of the leaf before it, which
// is read next; dst needs ReadIntoHeadroom bytes beyond the file's size.
// A file of another shape (data in a dag-pb node, sizes that do not add
// up) is read through Export. A file whose nodes declare more than
// maxBytes is ErrTooLarge, before anything is allocated. It never
// fetches: a missing block is an ipld.ErrNotFound.
func (b *Blocks) ReadInto(ctx context.Context, c cid.Cid, dst []byte, maxBytes int64) (data, buf []byte, err error) {
	if err := b.rlock(); err != nil {
		return nil, nil, err
	}
	defer b.gc.RUnlock()
	plan, ok, err := b.leafPlan(ctx, c, maxBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("p2p read %s: %w", c, err)
	}
	if ok && b.blobs != nil {
		data, buf, err := b.readLeaves(ctx, plan, dst)
		if !errors.Is(err, errPlanSize) {
			return data, buf, err
		}
	}
	return b.readExport(ctx, c, dst)
}

// errPlanSize: a leaf is not the size its parent declares (a DAG that
// misstates its sizes; every record read is checked, so not a corrupt
// store). ReadInto reads such a file through Export instead.
var errPlanSize = errors.New("a leaf is not the size its parent declares")

// ReadIntoHeadroom is what ReadInto needs in dst beyond the file's size.
const ReadIntoHeadroom = blobHeader

// leafPlan lists the file's raw leaves in file order with their offsets.
type leafPlan struct {
	size   int64
	leaves []planLeaf
	max    int64 // the cap on size
}

type planLeaf struct {
	c        cid.Cid
	off, len int64
}

// leafPlan plans the file c: ok is false for a file ReadInto leaves to
// Export; a plan over maxBytes is ErrTooLarge, found as it grows.
func (b *Blocks) leafPlan(ctx context.Context, c cid.Cid, maxBytes int64) (leafPlan, bool, error) {
	p := leafPlan{max: maxBytes}
	root, err := b.bs.Get(ctx, c)
	if err != nil {
		return p, false, err
	}
	if c.Prefix().Codec == cid.Raw {
		ok, err := p.add(c, int64(len(root.RawData())))
		return p, ok, err
	}
	ok, err := b.planBlock(ctx, root, &p)
	return p, ok && err == nil && p.size == declaredSize(root), err
}

// add appends a leaf of n bytes; ErrTooLarge past the cap.
func (p *leafPlan) add(c cid.Cid, n int64) (bool, error) {
	p.leaves = append(p.leaves, planLeaf{c: c, off: p.size, len: n})
	p.size += n
	if p.size > p.max {
		return false, fmt.Errorf("%w: over %d bytes", ErrTooLarge, p.max)
	}
	return true, nil
}

// planBlock appends the leaves below the dag-pb block blk to p.
func (b *Blocks) planBlock(ctx context.Context, blk blocks.Block, p *leafPlan) (bool, error) {
	if blk.Cid().Prefix().Codec != cid.DagProtobuf {
		return false, nil
	}
	pn, err := merkledag.DecodeProtobuf(blk.RawData())
	if err != nil {
		return false, nil
	}
	fs, err := unixfs.FSNodeFromBytes(pn.Data())
	if err != nil || len(fs.Data()) > 0 || len(fs.BlockSizes()) != len(pn.Links()) {
		return false, nil
	}
	for i, l := range pn.Links() {
		n := int64(fs.BlockSizes()[i])
		if l.Cid.Prefix().Codec == cid.Raw {
			if ok, err := p.add(l.Cid, n); !ok {
				return false, err
			}
			continue
		}
		kid, err := b.bs.Get(ctx, l.Cid)
		if err != nil {
			return false, err
		}
		start := p.size
		if ok, err := b.planBlock(ctx, kid, p); err != nil || !ok {
			return false, err
		}
		if p.size-start != n {
			return false, nil
		}
	}
	return true, nil
}

// readLeaves reads the planned leaves last to first into one buffer.
func (b *Blocks) readLeaves(ctx context.Context, p leafPlan, dst []byte) (data, buf []byte, err error) {
	buf = dst
	if int64(cap(buf)) < blobHeader+p.size {
		buf = make([]byte, blobHeader+p.size)
	}
	buf = buf[:blobHeader+p.size]
	for i := len(p.leaves) - 1; i >= 0; i-- {
		if err := b.readLeaf(ctx, p.leaves[i], buf); err != nil {
			return nil, buf, err
		}
	}
	return buf[blobHeader:], buf, nil
}

// readLeaf reads leaf l to buf[blobHeader+l.off:], its record header in
// the blobHeader bytes before it; a leaf kept in pebble is copied there.
func (b *Blocks) readLeaf(ctx context.Context, l planLeaf, buf []byte) error {
	at, end := blobHeader+l.off, blobHeader+l.off+l.len
	slot := buf[at-blobHeader : end : end] // a record of another size cannot spill over
	data, _, err := b.blobs.read(l.c, slot)
	if ipld.IsNotFound(err) {
		blk, err := b.bs.Get(ctx, l.c)
		if err != nil {
			return err
		}
		data = blk.RawData()
		if int64(len(data)) == l.len {
			copy(buf[at:end], data)
			return nil
		}
	} else if err != nil {
		return err
	}
	if int64(len(data)) != l.len {
		return errPlanSize
	}
	if len(data) > 0 && &data[0] != &buf[at] {
		copy(buf[at:end], data)
	}
	return nil
}

// readExport is ReadInto through Export, for files of another shape.
func (b *Blocks) readExport(ctx context.Context, c cid.Cid, dst []byte) (data, buf []byte, err error) {
	w := bytes.NewBuffer(dst[:0])
	local := merkledag.NewDAGService(blockservice.New(b.bs, nil)) // no exchange: never fetches
	if err := b.exportLocked(ctx, local, c, w); err != nil {
		return nil, dst, err
	}
	return w.Bytes(), w.Bytes(), nil
}
