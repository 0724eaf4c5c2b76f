package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// DAGProtocol is the direct stream protocol for whole DAGs (checkpoints)
// between peers that already know the root CID. Bitswap stays the path for
// everything else; this one moves a known DAG at close to the speed of a
// raw libp2p stream.
//
// Wire format (every integer an unsigned varint):
//
//	request:  len(root) root            (the root CID's binary form)
//	response: status                    (0 = ok, 1 = refused)
//	          status 1: len(msg) msg    (why; the stream then ends)
//	          status 0: frames, then 0  (end of the DAG)
//	frame:    len(cid) cid len(data) data
//
// Order: the server sends the DAG depth-first, parents before children,
// links in their order in the parent, each distinct block once (a block
// already sent is skipped wherever it appears again). The client computes
// the same order from the blocks it has verified, so it knows which CID
// must come next before the frame arrives: a frame whose CID is not that
// one is a block not in the DAG (or out of place), and data that does not
// hash to its CID is a corrupt block. Either ends the fetch with an error
// naming the CID, before anything of that block is stored.
const DAGProtocol protocol.ID = "/coldnode/dag/1.0.0"

const (
	// maxBlockSize is the largest block either side accepts in a frame
	// (bitswap's own limit; the UnixFS profile makes 1 MiB leaves).
	maxBlockSize = 2 << 20
	// maxCIDSize bounds a CID in a request or frame.
	maxCIDSize = 128
	// maxRefusal bounds the server's refusal message.
	maxRefusal = 1 << 10
	// serveTimeout bounds one served stream, so a stalled client cannot
	// hold the store's shared lock (and delay GC) for ever.
	serveTimeout = 10 * time.Minute
	// streamBuf sizes the buffered reader and writer around a stream.
	streamBuf = 64 << 10
)

const (
	statusOK      = 0
	statusRefused = 1
)

// ErrNotInDAG is returned by FetchDirect when the server sends a block that
// is not the next block of the requested DAG.
var ErrNotInDAG = errors.New("p2p: block not in the requested DAG")

// ErrRefused is returned by FetchDirect when the server declines the request
// (it does not hold the whole DAG, or its store is closed).
var ErrRefused = errors.New("p2p: peer refused the DAG request")

// ServeDAG makes the node answer DAGProtocol requests from its local store
// (it never fetches on behalf of a requester). Call it once after New; it
// stays on until Close.
func (n *Node) ServeDAG() {
	n.host.SetStreamHandler(DAGProtocol, n.serveDAG)
}

func (n *Node) serveDAG(s network.Stream) {
	stop := context.AfterFunc(n.ctx, func() { s.Reset() })
	defer stop()
	if err := s.SetDeadline(time.Now().Add(serveTimeout)); err != nil {
		s.Reset()
		return
	}
	err := n.blocks.serve(n.ctx, s)
	if err != nil {
		n.log.Debug("dag stream ended with an error", "peer", s.Conn().RemotePeer(), "err", err)
		s.Reset()
		return
	}
	s.Close()
}

// serve answers one request on rw.
func (b *Blocks) serve(ctx context.Context, rw io.ReadWriter) error {
	br := bufio.NewReaderSize(rw, 256)
	root, err := readCID(br)
	if err != nil {
		return fmt.Errorf("dag request: %w", err)
	}
	w := bufio.NewWriterSize(rw, streamBuf)
	if err := b.rlock(); err != nil {
		return refuse(w, err.Error())
	}
	defer b.gc.RUnlock()
	// A root whose DAG is still arriving here is refused like a missing
	// one, so the fetcher asks its next peer instead of failing mid-stream.
	if _, ok, err := b.stored(ctx, root); err != nil || !ok {
		return refuse(w, fmt.Sprintf("%s is not stored whole here", root))
	}
	if err := w.WriteByte(statusOK); err != nil {
		return err
	}
	if err := b.sendDAG(ctx, w, root); err != nil {
		return fmt.Errorf("send dag %s: %w", root, err)
	}
	return w.Flush()
}

// sendDAG writes every block of the DAG in protocol order, then the end
// mark. A reader goroutine walks the DAG and reads blocks from the store
// (large leaves into recycled buffers) up to sendAhead blocks ahead, so
// disk reads overlap the stream writes; sendDAG waits for it.
func (b *Blocks) sendDAG(ctx context.Context, w *bufio.Writer, root cid.Cid) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	frames := make(chan outFrame, sendAhead)
	var readErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(frames)
		readErr = b.readDAG(ctx, root, frames)
	})
	err := writeFrames(w, frames)
	cancel()
	for range frames {
	}
	wg.Wait()
	if err != nil {
		return err
	}
	if readErr != nil {
		return readErr
	}
	return writeUvarint(w, 0)
}

// sendAhead is how many blocks the server reads ahead of the stream.
const sendAhead = 4

// outFrame is a block read for sending; buf, when set, is recycled after.
type outFrame struct {
	c    cid.Cid
	data []byte
	buf  []byte
}

func writeFrames(w *bufio.Writer, frames <-chan outFrame) error {
	for f := range frames {
		if err := writeFrame(w, f.c.Bytes(), f.data); err != nil {
			return err
		}
		if f.buf != nil {
			sendBufs.Put(&f.buf)
		}
	}
	return nil
}

// sendBufs holds the buffers served blocks are read into (readFrame): a
// block's buffer is garbage once written to its stream, and the next
// block, of this stream or another, is as large. A delta is served to
// every peer of the round at once, and a buffer for each stream's blocks
// in flight was new memory each time: a served delta cost ~6 MiB of new
// memory per peer, for the collector and, on some VMs, a trap to the host
// for each new page.
var sendBufs sync.Pool // of *[]byte

// sendBuf returns a buffer from sendBufs, or nil (readFrame makes one).
func sendBuf() []byte {
	if p, ok := sendBufs.Get().(*[]byte); ok {
		return *p
	}
	return nil
}

// readDAG reads the DAG's blocks in protocol order into frames until done,
// a read fails or ctx ends.
func (b *Blocks) readDAG(ctx context.Context, root cid.Cid, frames chan<- outFrame) error {
	var o dagOrder
	o.start(root)
	for c, ok := o.next(); ok; c, ok = o.next() {
		f, err := b.readFrame(ctx, c)
		if err != nil {
			return fmt.Errorf("block %s: %w", c, err)
		}
		if c.Prefix().Codec != cid.Raw {
			blk, _ := blocks.NewBlockWithCid(f.data, c)
			kids, err := links(blk)
			if err != nil {
				return err
			}
			o.push(kids)
		}
		select {
		case frames <- f:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// readFrame reads block c, a blob into a buffer from sendBufs when it is
// one.
func (b *Blocks) readFrame(ctx context.Context, c cid.Cid) (outFrame, error) {
	if b.blobs != nil && blobFirst(c) {
		data, file, err := b.blobs.read(c, sendBuf())
		if err == nil {
			return outFrame{c: c, data: data, buf: file}, nil
		}
		if !ipld.IsNotFound(err) {
			return outFrame{}, err
		}
	}
	blk, err := b.bs.Get(ctx, c)
	if err != nil {
		return outFrame{}, err
	}
	return outFrame{c: c, data: blk.RawData()}, nil
}

func refuse(w *bufio.Writer, msg string) error {
	if len(msg) > maxRefusal {
		msg = msg[:maxRefusal]
	}
	w.WriteByte(statusRefused)
	if err := writeBytes(w, []byte(msg)); err != nil {
		return err
	}
	return w.Flush()
}

// dagOrder yields a DAG's distinct blocks depth-first, parents first,
// children in link order. Server and client run it on the same verified
// blocks, so both agree on the order.
type dagOrder struct {
	stack []cid.Cid
	seen  map[string]struct{}
}

func (o *dagOrder) start(root cid.Cid) {
	o.stack = []cid.Cid{root}
	o.seen = map[string]struct{}{}
}

// next pops the next block not yet yielded; false when the DAG is done.
func (o *dagOrder) next() (cid.Cid, bool) {
	for len(o.stack) > 0 {
		c := o.stack[len(o.stack)-1]
		o.stack = o.stack[:len(o.stack)-1]
		if _, dup := o.seen[c.KeyString()]; dup {
			continue
		}
		o.seen[c.KeyString()] = struct{}{}
		return c, true
	}
	return cid.Undef, false
}

// push queues the children of the block next just returned.
func (o *dagOrder) push(kids []cid.Cid) {
	for i := len(kids) - 1; i >= 0; i-- {
		o.stack = append(o.stack, kids[i])
	}
}

func writeUvarint(w *bufio.Writer, v uint64) error {
	var buf [binary.MaxVarintLen64]byte
	_, err := w.Write(buf[:binary.PutUvarint(buf[:], v)])
	return err
}

func writeBytes(w *bufio.Writer, p []byte) error {
	if err := writeUvarint(w, uint64(len(p))); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

func writeFrame(w *bufio.Writer, c, data []byte) error {
	if err := writeBytes(w, c); err != nil {
		return err
	}
	return writeBytes(w, data)
}

// readLen reads a varint length and checks it against max.
func readLen(r *bufio.Reader, max uint64, what string) (int, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, fmt.Errorf("read %s length: %w", what, err)
	}
	if n > max {
		return 0, fmt.Errorf("%s of %d bytes exceeds the %d-byte limit", what, n, max)
	}
	return int(n), nil
}

// readCID reads a length-prefixed binary CID.
func readCID(r *bufio.Reader) (cid.Cid, error) {
	n, err := readLen(r, maxCIDSize, "CID")
	if err != nil {
		return cid.Undef, err
	}
	return readCIDBody(r, n)
}

func readCIDBody(r *bufio.Reader, n int) (cid.Cid, error) {
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return cid.Undef, fmt.Errorf("read CID: %w", err)
	}
	c, err := cid.Cast(buf)
	if err != nil {
		return cid.Undef, fmt.Errorf("bad CID: %w", err)
	}
	return c, nil
}
