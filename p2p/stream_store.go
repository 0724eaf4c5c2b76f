package p2p

import (
	"context"
	"fmt"
	"sync"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/coldnode/coldnode/p2p/lanehash"
)

const (
	// batchBytes is how many bytes of blocks a direct fetch gathers into
	// one store batch: large leaves go to blob files, and the small blocks
	// of the batch to pebble in one batch commit (one WAL write) instead of
	// one per block. Larger batches measured no faster.
	batchBytes = 16 << 20
	// packBatchBytes replaces batchBytes when large leaves go to a pack:
	// appending to a pack gains nothing from batching, and a smaller batch
	// leaves less to write after the last frame has arrived.
	packBatchBytes = 2 << 20
	// batchQueue is how many blocks may wait for the writer.
	batchQueue = 32
	// importQueue replaces it for Import, whose blocks are made as fast as
	// they are hashed: a short queue lets hashing and storing overlap
	// without holding many leaves at once.
	importQueue = 4
	// poolBuffers is how many block buffers a fetch recycles: the queue,
	// the batch being gathered, the one being stored, and the one being read.
	poolBuffers = batchQueue + 2*batchBytes/(1<<20) + 2
)

// batchWriter checks blocks on one goroutine and stores them in batches on
// another, so network reads, hashing and store writes (with their fsyncs)
// overlap, and a fetch's writer recycles block buffers once the store has
// copied them. Import stores through one too (newImportWriter).
// The fetching goroutine calls buffer, put and then close; the checking
// goroutine owns the batch being gathered, the storing one the batch being
// written.
type batchWriter struct {
	bs      blockstore.Blockstore
	pack    *packWriter // large leaves go here; nil: all to bs
	batch   int         // bytes gathered before a batch is handed on
	in      chan pending
	batches chan []blocks.Block // checked batches for the storing goroutine
	free    chan []byte
	failed  chan struct{} // closed when a check or a write fails
	once    sync.Once     // closes failed
	err     error         // set (under once) before failed closes
	wg      sync.WaitGroup
	// stored, when set, is shown each batch once it is stored, on the
	// storing goroutine.
	stored func([]blocks.Block)
}

// pending is a block whose place in the DAG has been checked; when check
// is set its bytes must still be hashed against its CID.
type pending struct {
	blk   blocks.Block
	check bool
}

func newBatchWriter(ctx context.Context, bs blockstore.Blockstore, blobs *blobStore) *batchWriter {
	return startBatchWriter(ctx, bs, blobs, batchQueue, make(chan []byte, poolBuffers), false)
}

// newSinkWriter is the batch writer of a fetch into memory
// (FetchFromInto): the leaves are in the caller's memory, so no buffer is
// recycled, and the packs are written around the page cache.
func newSinkWriter(ctx context.Context, bs blockstore.Blockstore, blobs *blobStore) *batchWriter {
	return startBatchWriter(ctx, bs, blobs, batchQueue, nil, true)
}

// newImportWriter is the batch writer of Import: a short queue, no
// buffers kept for reuse (the importer's blocks own theirs), and packs
// written around the page cache.
func newImportWriter(ctx context.Context, bs blockstore.Blockstore, blobs *blobStore) *batchWriter {
	return startBatchWriter(ctx, bs, blobs, importQueue, nil, true)
}

// startBatchWriter starts a writer whose queue holds queue blocks, which
// recycles stored blocks' buffers into free (none when free is nil) and
// whose packs are written directly when direct is set.
func startBatchWriter(ctx context.Context, bs blockstore.Blockstore, blobs *blobStore, queue int, free chan []byte, direct bool) *batchWriter {
	w := &batchWriter{bs: bs, in: make(chan pending, queue), batches: make(chan []blocks.Block, 1),
		free: free, failed: make(chan struct{}), batch: batchBytes}
	if blobs != nil && blobs.packs != nil {
		w.pack, w.batch = newPackWriter(blobs, direct), packBatchBytes
	}
	w.wg.Go(func() {
		defer close(w.batches)
		w.loop()
	})
	w.wg.Go(func() { w.store(ctx) })
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

// loop checks queued blocks and hands them to the storing goroutine in
// batches of up to w.batch bytes (a quarter of that when nothing else
// waits). The leaves after one to be checked are checked with it, several
// hashes at once (queued, verifyMany).
// A block that fails its check ends the fetch; the blocks before it are
// still stored.
func (w *batchWriter) loop() {
	var b storeBatch
	for p := range w.in {
		run := w.queued(p)
		good, err := verifyMany(run)
		ok := w.collect(&b, run[:good])
		if err != nil {
			w.hand(b.blocks) // the blocks verified before it are kept
			w.fail(err)
			break
		}
		if !ok {
			break
		}
	}
	select {
	case <-w.failed:
		for range w.in { // release put until close
		}
	default:
		w.hand(b.blocks)
	}
}

// storeBatch is the batch loop is gathering, and its size in bytes.
type storeBatch struct {
	blocks []blocks.Block
	size   int
}

// collect adds checked blocks to b, handing b on whenever it is full (or a
// quarter full with nothing waiting); false once storing failed.
func (w *batchWriter) collect(b *storeBatch, run []pending) bool {
	for i, p := range run {
		b.blocks = append(b.blocks, p.blk)
		b.size += len(p.blk.RawData())
		if b.size < w.batch && (len(w.in) > 0 || i < len(run)-1 || b.size < w.batch/4) {
			continue
		}
		if !w.hand(b.blocks) {
			return false
		}
		*b = storeBatch{}
	}
	return true
}

// queued returns p and, when p's hash is to be checked, the blocks put
// after it, up to lanehash.Lanes() in all, waiting for them until the
// fetch ends: hashed together they cost the node less CPU than one at a
// time, for at most the wait of a few leaves.
func (w *batchWriter) queued(p pending) []pending {
	run := []pending{p}
	for p.check && len(run) < lanehash.Lanes() {
		q, open := <-w.in
		if !open {
			break
		}
		run = append(run, q)
	}
	return run
}

// hand passes a batch to the storing goroutine; false once storing failed.
func (w *batchWriter) hand(batch []blocks.Block) bool {
	if len(batch) == 0 {
		return true
	}
	select {
	case w.batches <- batch:
		return true
	case <-w.failed:
		return false
	}
}

// store writes batches and recycles their buffers; after a write fails it
// drains the rest unwritten. At the end it commits the pack (the leaves
// become durable and then visible), or deletes it after a failed write.
func (w *batchWriter) store(ctx context.Context) {
	failed := false
	defer func() {
		if failed {
			w.pack.abort()
		} else if err := w.pack.commit(ctx); err != nil {
			w.fail(err)
		}
	}()
	for batch := range w.batches {
		if failed {
			continue
		}
		if err := w.write(ctx, batch); err != nil {
			w.fail(fmt.Errorf("store %d blocks: %w", len(batch), err))
			failed = true
			continue
		}
		if w.stored != nil {
			w.stored(batch)
		}
		for _, blk := range batch {
			select {
			case w.free <- blk.RawData():
			default:
			}
		}
	}
}

// write stores one batch: large leaves to the pack, the rest to bs.
func (w *batchWriter) write(ctx context.Context, batch []blocks.Block) error {
	if w.pack == nil {
		return w.bs.PutMany(ctx, batch)
	}
	small := make([]blocks.Block, 0, len(batch))
	for _, blk := range batch {
		if !isBlob(blk) {
			small = append(small, blk)
		} else if err := w.pack.add(ctx, blk); err != nil {
			return err
		}
	}
	if len(small) == 0 {
		return nil
	}
	return w.bs.PutMany(ctx, small)
}

// fail records the first error and releases put and hand.
func (w *batchWriter) fail(err error) {
	w.once.Do(func() {
		w.err = err
		close(w.failed)
	})
}

// isLeaf reports whether c is a raw block, which links to nothing, so its
// hash can be checked after the next frames have been read.
func isLeaf(c cid.Cid) bool { return c.Prefix().Codec == cid.Raw }
