package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// genesisRef holds the genesis layout once read: every delta check matches
// a delta against it (tensor names, shapes and dtypes), and reading the
// genesis file again per check cost a whole body of memory and an export
// from the block store each time. Only the header is kept: no check reads
// the genesis values, so holding them cost a body of memory for nothing.
type genesisRef struct {
	mu   sync.Mutex // checks run concurrently
	r    *checkpoint.Reader
	size int64 // the genesis file's bytes
}

// genesisLayout returns the genesis layout, reading it on first use: a
// Reader of the genesis file's header whose tensor data reads as zeros.
// The Reader is read-only, so concurrent checks share it.
func (rt *runtime) genesisLayout(ctx context.Context) (*checkpoint.Reader, error) {
	g := &rt.gref
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.r != nil {
		return g.r, nil
	}
	f, err := rt.store.OpenFile(ctx, rt.genesis.Weights, rt.genesis.Params.MaxDelta+(64<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rt.genesis.Weights, err)
	}
	defer f.Close()
	r, err := layoutAt(f, f.Size()) // the header only: the body is never held
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rt.genesis.Weights, err)
	}
	g.r, g.size = r, f.Size()
	return r, nil
}

// genesisSize returns the size of the genesis file, reading its layout
// on first use (genesisLayout).
func (rt *runtime) genesisSize(ctx context.Context) (int64, error) {
	if _, err := rt.genesisLayout(ctx); err != nil {
		return 0, err
	}
	g := &rt.gref
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.size, nil
}

// layoutOf opens safetensors bytes b keeping only their header: the
// returned Reader has b's names, dtypes, shapes and metadata, and reads
// zeros as tensor data.
func layoutOf(b []byte) (*checkpoint.Reader, error) {
	return layoutAt(bytes.NewReader(b), int64(len(b)))
}

// layoutAt is layoutOf for a file read in place: only its header is read.
func layoutAt(src io.ReaderAt, size int64) (*checkpoint.Reader, error) {
	if _, err := checkpoint.Open(src, size); err != nil {
		return nil, err
	}
	var l [8]byte
	if _, err := src.ReadAt(l[:], 0); err != nil {
		return nil, err
	}
	hdr := make([]byte, 8+binary.LittleEndian.Uint64(l[:])) // Open checked it
	if _, err := src.ReadAt(hdr, 0); err != nil {
		return nil, err
	}
	return checkpoint.Open(headerOnly(hdr), size)
}

// headerOnly is an io.ReaderAt of a file of which only the first
// len(headerOnly) bytes are known; the rest reads as zeros.
type headerOnly []byte

func (h headerOnly) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < int64(len(h)) {
		n = copy(p, h[off:])
	}
	clear(p[n:])
	return len(p), nil
}
