package p2p

import (
	"context"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// FetchFromInto is FetchFrom for a caller that reads the file at once: a
// direct fetch also gathers the file's bytes, in order, in the memory
// *into lends (grown to the file's size if short, up to intoMax bytes;
// *into is left holding the memory used, for the next fetch), and data
// returns them. The leaves are read from the stream straight into their
// places there and stored from there, so the file need not be read back
// from the store; its pack is written around the page cache
// (packstage.go), since the caller reads it from memory. data is nil when
// the file came over bitswap, when a block carries file bytes of its own
// (a dag-pb node with data) or the DAG repeats a leaf, or when the file is
// over intoMax bytes: the caller then reads the stored file. data is only
// set once every block is verified and stored.
func (n *Node) FetchFromInto(ctx context.Context, from []peer.ID, root cid.Cid, maxBytes int64, progress Progress, into *[]byte, intoMax int64) (size int64, data []byte, err error) {
	s := &fileSink{buf: into, max: intoMax}
	size, err = n.fetchFrom(ctx, from, root, maxBytes, progress, s)
	if err != nil {
		return size, nil, err
	}
	return size, s.file(size), nil
}

// fileSink gathers a direct fetch's file bytes, leaf by leaf in DAG order
// (depth first, links in order: the file's order), in lent memory. One
// fetch goroutine uses it. ok turns false for good at the first block it
// cannot place and when the attempt fails; a new attempt (the next peer)
// starts it over. A block the DAG repeats is sent once, so its later
// places stay empty: the bytes placed then fall short of the file's size,
// and file returns nil.
type fileSink struct {
	buf *[]byte
	max int64 // the most memory *buf may grow to
	off int   // bytes placed
	ok  bool  // every block so far placed
}

// start readies the sink for a fetch attempt.
func (s *fileSink) start() {
	s.off, s.ok = 0, true
}

// expect grows the memory to the file's declared size before the leaves
// come (the root's size is within the fetch's cap by then), or gives up
// on a file over the sink's max.
func (s *fileSink) expect(size int64) {
	switch {
	case size > s.max:
		s.ok = false
	case s.off == 0 && int64(cap(*s.buf)) < size:
		*s.buf = make([]byte, size)
	}
}

// leaf returns the memory the next n-byte leaf is read into, or nil: the
// sink has given up, or the leaf would run past the memory (a file larger
// than its root declared, which the fetch then rejects).
func (s *fileSink) leaf(n int) []byte {
	if !s.ok {
		return nil
	}
	if s.off == 0 && cap(*s.buf) < n && int64(n) <= s.max { // a file that is one leaf: no root size yet
		*s.buf = make([]byte, n)
	}
	if s.off+n > cap(*s.buf) {
		s.ok = false
		return nil
	}
	b := (*s.buf)[s.off : s.off+n : s.off+n]
	s.off += n
	return b
}

// block notes a block with links: one that carries file bytes of its own
// (a dag-pb node with data) cannot be placed, so the sink gives up.
func (s *fileSink) block(blk blocks.Block) {
	if dataBytes(blk) > 0 {
		s.ok = false
	}
}

// fail gives up on the attempt: what it gathered may hold bytes no check
// passed. A nil sink ignores it.
func (s *fileSink) fail() {
	if s != nil {
		s.ok = false
	}
}

// file returns the gathered file of size bytes, or nil when the sink gave
// up or holds other than size bytes.
func (s *fileSink) file(size int64) []byte {
	if s == nil || !s.ok || int64(s.off) != size {
		return nil
	}
	return (*s.buf)[:s.off]
}
