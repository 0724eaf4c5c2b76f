package p2p

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/ipfs/boxo/ipld/merkledag"
	ufsio "github.com/ipfs/boxo/ipld/unixfs/io"
	"github.com/ipfs/go-cid"
)

// File reads a stored UnixFS file at any offset, a block at a time, so a
// caller can use a large file (a base model in a fusion) without holding
// it whole. GC waits while a File is open; Close it.
type File struct {
	mu     sync.Mutex // ReadAt seeks the one DAG reader
	r      ufsio.DagReader
	size   int64
	cancel context.CancelFunc
	done   func()
	once   sync.Once
}

// Open opens the UnixFS file c for reading at any offset. Blocks missing
// locally are fetched over bitswap as they are read (Fetch first for a
// size cap); every block read has been checked against its CID.
func (b *Blocks) Open(ctx context.Context, c cid.Cid) (*File, error) {
	if err := b.rlock(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	r, err := b.dagReader(ctx, c)
	if err != nil {
		cancel()
		b.gc.RUnlock()
		return nil, err
	}
	return &File{r: r, size: int64(r.Size()), cancel: cancel, done: b.gc.RUnlock}, nil
}

func (b *Blocks) dagReader(ctx context.Context, c cid.Cid) (ufsio.DagReader, error) {
	ng := merkledag.NewSession(ctx, b.dag)
	nd, err := ng.Get(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("p2p open: get root %s: %w", c, err)
	}
	r, err := ufsio.NewDagReader(ctx, nd, ng)
	if err != nil {
		return nil, fmt.Errorf("p2p open: %s as a UnixFS file: %w", c, err)
	}
	return r, nil
}

// Size is the file's length in bytes.
func (f *File) Size() int64 { return f.size }

// ReadAt reads len(p) bytes at off (io.ReaderAt); it is safe for
// concurrent use (reads take turns).
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("p2p file: negative offset %d", off)
	}
	if off >= f.size {
		return 0, io.EOF
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.r.Seek(off, io.SeekStart); err != nil {
		return 0, fmt.Errorf("p2p file: seek to %d: %w", off, err)
	}
	n, err := io.ReadFull(f.r, p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

// Close releases the file (and lets GC run); later reads fail.
func (f *File) Close() error {
	var err error
	f.once.Do(func() {
		f.cancel()
		f.mu.Lock()
		err = f.r.Close()
		f.mu.Unlock()
		f.done()
	})
	return err
}
