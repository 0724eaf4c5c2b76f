package p2p

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// ErrTooLarge is returned by Fetch when a DAG exceeds the caller's cap.
var ErrTooLarge = errors.New("p2p: content larger than allowed")

// fetchBatch is how many CIDs one bitswap request asks for at a time.
const fetchBatch = 512

// Progress reports fetched file bytes against the size the root declares
// (0 when the root declares none). It runs on the fetching goroutine.
type Progress func(done, total int64)

// Fetch makes every block of the DAG rooted at c local, asking all connected
// peers over one bitswap session (several providers at once). It fails with
// ErrTooLarge when the root declares more than maxBytes of file data or the
// blocks received exceed maxBytes plus the DAG's own overhead, and stops when
// ctx ends. Every block is checked against its CID. It returns the file bytes
// fetched (for a UnixFS file, its size).
func (b *Blocks) Fetch(ctx context.Context, c cid.Cid, maxBytes int64, progress Progress) (int64, error) {
	if err := b.rlock(); err != nil {
		return 0, err
	}
	defer b.gc.RUnlock()
	n, err := b.fetch(ctx, c, maxBytes, progress)
	b.metrics.fetched(n)
	return n, err
}

type fetcher struct {
	ses         *blockservice.Session
	max         int64 // cap on raw bytes received, overhead included
	done, total int64
	received    int64
	progress    Progress
}

func (b *Blocks) fetch(ctx context.Context, c cid.Cid, maxBytes int64, progress Progress) (int64, error) {
	f := &fetcher{ses: blockservice.NewSession(ctx, b.bserv), progress: progress}
	root, err := f.ses.GetBlock(ctx, c)
	if err != nil {
		return 0, fmt.Errorf("p2p fetch %s: root: %w", c, err)
	}
	f.total = declaredSize(root)
	if f.total > maxBytes {
		return 0, fmt.Errorf("p2p fetch %s: %w: declares %d bytes, cap %d", c, ErrTooLarge, f.total, maxBytes)
	}
	f.max = maxBytes + maxBytes/64 + 1<<20 // dag-pb link overhead is < 1/64 for 1 MiB chunks
	level, err := f.visit(root, 1)
	for err == nil && len(level) > 0 {
		level, err = f.fetchLevel(ctx, level)
	}
	if err != nil {
		return f.done, fmt.Errorf("p2p fetch %s: %w", c, err)
	}
	return f.done, nil
}

// declaredSize is the file size a UnixFS root claims, or the block size.
func declaredSize(blk blocks.Block) int64 {
	if blk.Cid().Prefix().Codec != cid.DagProtobuf {
		return int64(len(blk.RawData()))
	}
	fs, ok := unixfsNode(blk)
	if !ok {
		return 0
	}
	return int64(fs.FileSize())
}

// unixfsNode decodes the UnixFS node of a dag-pb block; ok is false when the
// block does not decode.
func unixfsNode(blk blocks.Block) (*unixfs.FSNode, bool) {
	pn, err := merkledag.DecodeProtobuf(blk.RawData())
	if err != nil {
		return nil, false
	}
	fs, err := unixfs.FSNodeFromBytes(pn.Data())
	if err != nil {
		return nil, false
	}
	return fs, true
}

// visit accounts for one block appearing n times in the DAG and returns its
// children with their multiplicities. The arithmetic cannot overflow: a DAG
// that repeats blocks beyond the cap fails with ErrTooLarge first.
func (f *fetcher) visit(blk blocks.Block, n int64) (map[cid.Cid]int64, error) {
	if err := verify(blk.Cid(), blk.RawData()); err != nil {
		return nil, err
	}
	size := int64(len(blk.RawData()))
	if size > 0 && n > (f.max-f.received)/size {
		return nil, fmt.Errorf("%w: more than %d bytes of blocks", ErrTooLarge, f.max)
	}
	f.received += n * size
	f.done += n * dataBytes(blk)
	if f.progress != nil {
		f.progress(f.done, f.total)
	}
	kids, err := links(blk)
	if err != nil {
		return nil, err
	}
	next := make(map[cid.Cid]int64, len(kids))
	for _, k := range kids {
		next[k] = min(next[k]+n, f.max) // saturate: f.max already fails the check above
	}
	return next, nil
}

// fetchLevel gets one level of the DAG, fetchBatch CIDs at a time, and
// returns the next level.
func (f *fetcher) fetchLevel(ctx context.Context, level map[cid.Cid]int64) (map[cid.Cid]int64, error) {
	next := map[cid.Cid]int64{}
	batch := make([]cid.Cid, 0, fetchBatch)
	for k := range level {
		batch = append(batch, k)
		if len(batch) == fetchBatch {
			if err := f.fetchBatch(ctx, batch, level, next); err != nil {
				return nil, err
			}
			batch = batch[:0]
		}
	}
	if len(batch) == 0 {
		return next, nil
	}
	return next, f.fetchBatch(ctx, batch, level, next)
}

func (f *fetcher) fetchBatch(ctx context.Context, batch []cid.Cid, mult, next map[cid.Cid]int64) error {
	got := 0
	for blk := range f.ses.GetBlocks(ctx, batch) {
		kids, err := f.visit(blk, mult[blk.Cid()])
		if err != nil {
			return err
		}
		for k, n := range kids {
			next[k] = min(next[k]+n, f.max)
		}
		got++
	}
	if got != len(batch) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%d of %d blocks missing: %w", len(batch)-got, len(batch), err)
		}
		return fmt.Errorf("%d of %d blocks missing", len(batch)-got, len(batch))
	}
	return nil
}
