package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// FetchDirect makes every block of the DAG rooted at root local by asking
// one peer for the whole DAG over DAGProtocol (one stream, no per-block
// round trips). Every block is checked against its CID and against its
// place in the DAG (the links of blocks already verified) before it is
// stored; a block that fails either check ends the fetch with an error
// naming it (wrapping ErrBadBlock or ErrNotInDAG). Like Fetch it fails with
// ErrTooLarge past maxBytes of file data (or the root declaring more),
// reports progress, and stops when ctx ends. It returns the file size the
// root declares (on error, the file bytes received so far; a block repeated
// in the DAG is sent and counted once). FetchFrom adds a fallback to bitswap.
func (n *Node) FetchDirect(ctx context.Context, from peer.ID, root cid.Cid, maxBytes int64, progress Progress) (int64, error) {
	return n.fetchDirectInto(ctx, from, root, maxBytes, progress, nil)
}

// fetchDirectInto is FetchDirect, gathering the file in sink when not nil.
func (n *Node) fetchDirectInto(ctx context.Context, from peer.ID, root cid.Cid, maxBytes int64, progress Progress, sink *fileSink) (int64, error) {
	b := n.blocks
	if err := b.rlock(); err != nil {
		return 0, err
	}
	defer b.gc.RUnlock()
	done, err := n.fetchDirect(ctx, from, root, maxBytes, progress, sink)
	b.metrics.fetched(done)
	if err != nil {
		return done, fmt.Errorf("p2p fetch %s from %s: %w", root, from, err)
	}
	return done, nil
}

func (n *Node) fetchDirect(ctx context.Context, from peer.ID, root cid.Cid, maxBytes int64, progress Progress, sink *fileSink) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := n.host.NewStream(ctx, from, DAGProtocol)
	if err != nil {
		return 0, fmt.Errorf("open stream: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		s.SetDeadline(dl)
	}
	done, err := n.blocks.receive(ctx, s, root, maxBytes, progress, sink)
	if err != nil {
		s.Reset()
		return done, contextErr(ctx, err)
	}
	return done, s.Close()
}

// contextErr prefers the context's error when the stream failed because
// ctx ended (the reset surfaces as a stream error).
func contextErr(ctx context.Context, err error) error {
	if cerr := context.Cause(ctx); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// receive sends the request on s and stores the DAG that comes back,
// gathering the file in sink when not nil: its leaves are read into the
// sink's memory and stored from there, by a writer that recycles no
// buffer (the sink's are the caller's) and writes its pack around the
// page cache (the caller reads the file from the sink).
func (b *Blocks) receive(ctx context.Context, s io.ReadWriter, root cid.Cid, maxBytes int64, progress Progress, sink *fileSink) (int64, error) {
	if err := sendRequest(s, root); err != nil {
		return 0, err
	}
	if cw, ok := s.(network.Stream); ok {
		cw.CloseWrite()
	}
	r := bufio.NewReaderSize(s, streamBuf)
	if err := readStatus(r); err != nil {
		return 0, err
	}
	d := &dagReader{r: r, max: maxBytes + maxBytes/64 + 1<<20, cap: maxBytes, progress: progress, sink: sink}
	d.order.start(root)
	var w *batchWriter
	if sink != nil {
		sink.start()
		w = newSinkWriter(ctx, b.bs, b.blobs)
	} else {
		w = newBatchWriter(ctx, b.bs, b.blobs)
	}
	if err := errors.Join(d.run(w), w.close()); err != nil {
		sink.fail()
		return d.done, err
	}
	return max(d.done, d.total), nil
}

func sendRequest(w io.Writer, root cid.Cid) error {
	bw := bufio.NewWriterSize(w, 256)
	if err := writeBytes(bw, root.Bytes()); err != nil {
		return fmt.Errorf("send request: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("send request: %w", err)
	}
	return nil
}

func readStatus(r *bufio.Reader) error {
	st, err := r.ReadByte()
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	switch st {
	case statusOK:
		return nil
	case statusRefused:
		n, err := readLen(r, maxRefusal, "refusal")
		if err != nil {
			return fmt.Errorf("%w: %w", ErrRefused, err)
		}
		msg := make([]byte, n)
		io.ReadFull(r, msg)
		return fmt.Errorf("%w: %q", ErrRefused, msg)
	default:
		return fmt.Errorf("response status %d is not 0 or 1", st)
	}
}

// dagReader reads frames, checks each against the expected next block and
// its CID, and hands verified blocks to the writer. One goroutine uses it.
type dagReader struct {
	r        *bufio.Reader
	order    dagOrder
	max      int64 // cap on block bytes received, DAG overhead included
	cap      int64 // cap on file bytes (the caller's maxBytes)
	received int64
	done     int64
	total    int64 // file size the root declares
	rooted   bool  // the root has been read
	progress Progress
	sink     *fileSink // gathers the file; nil: none
}

func (d *dagReader) run(w *batchWriter) error {
	for want, ok := d.order.next(); ok; want, ok = d.order.next() {
		blk, err := d.block(w, want)
		if err != nil {
			return err
		}
		if err := w.put(blk, isLeaf(want)); err != nil {
			return err
		}
	}
	return d.end()
}

// block reads one frame, which must carry want. A block with links is
// verified here, before its links are trusted; a raw leaf is verified by
// the writer before it is stored.
func (d *dagReader) block(w *batchWriter, want cid.Cid) (blocks.Block, error) {
	data, err := d.frame(w, want)
	if err != nil {
		return nil, err
	}
	blk, _ := blocks.NewBlockWithCid(data, want)
	if isLeaf(want) {
		return blk, d.account(blk)
	}
	if err := verify(want, data); err != nil {
		return nil, err
	}
	if err := d.account(blk); err != nil {
		return nil, err
	}
	if d.sink != nil {
		d.sink.block(blk)
	}
	kids, err := links(blk)
	if err != nil {
		return nil, err
	}
	d.order.push(kids)
	return blk, nil
}

// frame reads the next frame's CID, checks it is want, and reads its data.
func (d *dagReader) frame(w *batchWriter, want cid.Cid) ([]byte, error) {
	n, err := readLen(d.r, maxCIDSize, "CID")
	if err != nil {
		return nil, fmt.Errorf("waiting for block %s: %w", want, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("stream ended before block %s", want)
	}
	got, err := readCIDBody(d.r, n)
	if err != nil {
		return nil, fmt.Errorf("waiting for block %s: %w", want, err)
	}
	if !got.Equals(want) {
		return nil, fmt.Errorf("%w: got block %s where %s comes next", ErrNotInDAG, got, want)
	}
	size, err := readLen(d.r, maxBlockSize, "block "+want.String())
	if err != nil {
		return nil, err
	}
	if d.received+int64(size) > d.max {
		return nil, fmt.Errorf("%w: block %s takes the DAG past %d bytes", ErrTooLarge, want, d.max)
	}
	d.received += int64(size)
	data := d.buffer(w, want, size)
	if _, err := io.ReadFull(d.r, data); err != nil {
		return nil, fmt.Errorf("read block %s: %w", want, err)
	}
	return data, nil
}

// buffer returns the memory the next block, want of n bytes, is read
// into: its place in the sink for a leaf, when there is one, else the
// writer's.
func (d *dagReader) buffer(w *batchWriter, want cid.Cid, n int) []byte {
	if d.sink != nil && isLeaf(want) {
		if b := d.sink.leaf(n); b != nil {
			return b
		}
	}
	return w.buffer(n)
}

// account adds a verified block's file bytes and checks the caps.
func (d *dagReader) account(blk blocks.Block) error {
	if !d.rooted {
		d.rooted = true
		d.total = declaredSize(blk)
		if d.total > d.cap {
			return fmt.Errorf("%w: root %s declares %d bytes, cap %d", ErrTooLarge, blk.Cid(), d.total, d.cap)
		}
		if d.sink != nil {
			d.sink.expect(d.total)
		}
	}
	d.done += dataBytes(blk)
	if d.done > d.cap {
		return fmt.Errorf("%w: more than %d bytes of file data", ErrTooLarge, d.cap)
	}
	if d.progress != nil {
		d.progress(d.done, d.total)
	}
	return nil
}

// end reads the end mark; a server that sends more is not serving this DAG.
func (d *dagReader) end() error {
	n, err := readLen(d.r, maxCIDSize, "CID")
	if err != nil {
		return fmt.Errorf("waiting for the end of the DAG: %w", err)
	}
	if n == 0 {
		return nil
	}
	extra, err := readCIDBody(d.r, n)
	if err != nil {
		return fmt.Errorf("after the DAG: %w", err)
	}
	return fmt.Errorf("%w: got block %s after the last block", ErrNotInDAG, extra)
}
