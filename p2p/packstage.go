package p2p

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// The packs of Import (a fused base, the node's own delta) are written
// around the page cache where the file system allows it (O_DIRECT on
// Linux): the records are copied into an aligned staging buffer, and each
// full buffer is written to disk from there, without being copied into
// page-cache pages first. Nothing in the round reads a fused base soon
// (the next training reads it once), so caching it only took memory; and
// where the system charges for memory it has not touched for a while (a
// VM whose host takes back free pages, which then fault on first use),
// copying 16 fused bases into new page-cache pages was up to a third of a
// round's CPU at 16 nodes (docs/benchmarks.md, item 1). So are the packs
// of a fetch that gathers its file in memory (FetchFromInto), whose caller
// reads the file from there. Other fetches' packs go through the page
// cache: their deltas are read back by their checks at once. A file
// system that refuses O_DIRECT gets the same bytes through the page cache.
const (
	// stageSize is the staging buffer: the size of each direct write.
	stageSize = 2 << 20
	// stageAlign aligns the buffer, the file offsets and the write sizes:
	// a page, a multiple of every disk's logical block.
	stageAlign = 4096
	// stagesKept is how many staging buffers a store keeps for its next
	// writer (a writer takes two), so an import writes from memory already
	// in use.
	stagesKept = 2
)

// stages keeps idle staging buffers for reuse.
type stages chan []byte

func newStages() stages { return make(stages, stagesKept) }

// get returns an idle buffer or a new one.
func (s stages) get() []byte {
	select {
	case b := <-s:
		return b
	default:
		return alignedBuffer(stageSize)
	}
}

// put keeps b for the next writer unless enough are kept.
func (s stages) put(b []byte) {
	select {
	case s <- b:
	default:
	}
}

// alignedBuffer returns n bytes starting on a stageAlign boundary.
func alignedBuffer(n int) []byte {
	b := make([]byte, n+stageAlign)
	skip := (stageAlign - int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))%stageAlign)) % stageAlign
	return b[skip : skip+n : skip+n]
}

// packFile is a pack being written: sequential writes, staged and written
// directly when buf is set, else written through the page cache. A full
// staging buffer is written by a goroutine of its own while the next one
// fills, so the disk works while the import goes on, as early write-back
// lets it through the page cache; at most one write is in flight.
type packFile struct {
	f       *os.File
	st      stages     // where buf and spare came from and go back to
	buf     []byte     // staging buffer being filled (stageSize, aligned); nil: through the page cache
	spare   []byte     // the other buffer, when no write holds it
	n       int        // bytes staged in buf
	flushed int64      // bytes handed to writes from buf
	done    chan error // the write in flight's result; nil: none
	err     error      // the first failed write's error
}

// openPackFile creates the pack file at path, for direct writes when the
// file system takes them and st can lend buffers.
func openPackFile(path string, st stages) (*packFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	p := &packFile{f: f}
	if st != nil && setDirect(f, true) {
		p.st, p.buf, p.spare = st, st.get(), st.get()
	}
	return p, nil
}

// write appends b.
func (p *packFile) write(b []byte) error {
	if p.buf == nil {
		_, err := p.f.Write(b)
		return err
	}
	for len(b) > 0 {
		k := copy(p.buf[p.n:], b)
		p.n, b = p.n+k, b[k:]
		if p.n == len(p.buf) {
			if err := p.flush(len(p.buf)); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush starts writing the first m staged bytes (a multiple of
// stageAlign, at least p.n) after those flushed before, once the write in
// flight has ended, and goes on staging in the other buffer.
func (p *packFile) flush(m int) error {
	if err := p.wait(); err != nil {
		return err
	}
	f, full, off, done := p.f, p.buf[:m], p.flushed, make(chan error, 1)
	p.done = done
	go func() { done <- writeDirect(f, full, off) }()
	p.buf, p.spare = p.spare, p.buf
	p.flushed += int64(p.n)
	p.n = 0
	return nil
}

// writeDirect writes b at off. A file system that took O_DIRECT but
// refuses this write (EINVAL: an alignment it needs beyond stageAlign)
// gets it, and the pack's later writes, through the page cache.
func writeDirect(f *os.File, b []byte, off int64) error {
	_, err := f.WriteAt(b, off)
	if errors.Is(err, syscall.EINVAL) && setDirect(f, false) {
		_, err = f.WriteAt(b, off)
	}
	return err
}

// wait waits for the write in flight, if any, and returns the first
// write's error.
func (p *packFile) wait() error {
	if p.done != nil {
		if err := <-p.done; err != nil && p.err == nil {
			p.err = fmt.Errorf("direct write before %d: %w", p.flushed, err)
		}
		p.done = nil
	}
	return p.err
}

// finish writes what is staged, the last block padded with zeros that
// the file is then cut to exclude, and waits for the writes.
func (p *packFile) finish() error {
	if p.buf == nil {
		return nil
	}
	if p.n > 0 {
		m := (p.n + stageAlign - 1) &^ (stageAlign - 1)
		clear(p.buf[p.n:m])
		if err := p.flush(m); err != nil {
			return err
		}
	}
	if err := p.wait(); err != nil {
		return err
	}
	return p.f.Truncate(p.flushed)
}

// close waits for a write in flight, closes the file and hands the
// buffers back.
func (p *packFile) close() error {
	p.wait()
	if p.buf != nil {
		p.st.put(p.buf)
		p.st.put(p.spare)
		p.buf, p.spare = nil, nil
	}
	return p.f.Close()
}
