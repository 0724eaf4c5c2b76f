package p2p

import (
	"context"
	"fmt"
	"sync"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

const (
	// batchBytes is how many bytes of blocks a direct fetch gathers into
	// one store batch: one pebble batch commit (one WAL write) per 16 MiB
	// instead of one per block. Larger batches measured no faster; batches
	// of half the memtable or more would bypass it as flushable batches.
	batchBytes = 16 << 20
	// batchQueue is how many blocks may wait for the writer.
	batchQueue = 32
	// poolBuffers is how many block buffers a fetch recycles: the queue,
	// a full batch and the one being read.
	poolBuffers = batchQueue + batchBytes/(1<<20) + 2
)

// batchWriter checks and stores blocks in batches on its own goroutine, so
// network reads overlap hashing and store writes, and it recycles block
// buffers once the store has copied them. The fetching goroutine calls
// buffer, put and then close; the writer goroutine owns the pending batch.
type batchWriter struct {
	bs     blockstore.Blockstore
	in     chan pending
	free   chan []byte
	failed chan struct{} // closed when a check or a write fails
	err    error         // set by the writer goroutine before failed closes
	wg     sync.WaitGroup
}

// pending is a block whose place in the DAG has been checked; when check
// is set its bytes must still be hashed against its CID.
type pending struct {
	blk   blocks.Block
	check bool
}

func newBatchWriter(ctx context.Context, bs blockstore.Blockstore) *batchWriter {
	w := &batchWriter{bs: bs, in: make(chan pending, batchQueue),
		free: make(chan []byte, poolBuffers), failed: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.loop(ctx)
	}()
	return w
}

// buffer returns a recycled buffer of length n, or a new one.
func (w *batchWriter) buffer(n int) []byte {
	select {
	case b := <-w.free:
		if cap(b) >= n {
			return b[:n]
		}
	default:
	}
	return make([]byte, n, max(n, 1<<20))
}

// put queues a block whose place in the DAG has been checked; check asks
// the writer to verify its hash before storing it. It fails once the
// writer has failed.
func (w *batchWriter) put(blk blocks.Block, check bool) error {
	select {
	case w.in <- pending{blk, check}:
		return nil
	case <-w.failed:
		return w.err
	}
}

// close flushes what is queued, stops the writer and returns its error.
func (w *batchWriter) close() error {
	close(w.in)
	w.wg.Wait()
	return w.err
}

func (w *batchWriter) loop(ctx context.Context) {
	var batch []blocks.Block
	size := 0
	for p := range w.in {
		if p.check {
			if err := verify(p.blk.Cid(), p.blk.RawData()); err != nil {
				w.fail(err)
				return
			}
		}
		batch = append(batch, p.blk)
		size += len(p.blk.RawData())
		// Flush a full batch, or a quarter of one when nothing else waits.
		if size < batchBytes && (len(w.in) > 0 || size < batchBytes/4) {
			continue
		}
		if !w.flush(ctx, batch) {
			return
		}
		batch, size = batch[:0], 0
	}
	w.flush(ctx, batch)
}

// flush writes one batch and recycles its buffers.
func (w *batchWriter) flush(ctx context.Context, batch []blocks.Block) bool {
	if len(batch) == 0 {
		return true
	}
	if err := w.bs.PutMany(ctx, batch); err != nil {
		w.fail(fmt.Errorf("store %d blocks: %w", len(batch), err))
		return false
	}
	for _, blk := range batch {
		select {
		case w.free <- blk.RawData():
		default:
		}
	}
	return true
}

// fail records err, releases put, and drains the queue until close.
func (w *batchWriter) fail(err error) {
	w.err = err
	close(w.failed)
	for range w.in {
	}
}

// isLeaf reports whether c is a raw block, which links to nothing, so its
// hash can be checked after the next frames have been read.
func isLeaf(c cid.Cid) bool { return c.Prefix().Codec == cid.Raw }
