package p2p

import (
	"context"
	"sync"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// guardedStore is the blockstore bitswap sees. Bitswap's workers can still
// ask for a block after bitswap's Close returned, and pebble panics when a
// closed database is read, so every call checks, under mu, that the store
// is open, and fails with ErrClosed once shut has run. mu guards only the
// flag: the calls never nest, so a pending shut cannot deadlock them.
type guardedStore struct {
	blockstore.Blockstore
	mu     sync.RWMutex
	closed bool
}

var _ blockstore.Blockstore = (*guardedStore)(nil)

// shut makes every later call fail; it waits for the calls in flight.
func (g *guardedStore) shut() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

func (g *guardedStore) enter() error {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (g *guardedStore) Has(ctx context.Context, c cid.Cid) (bool, error) {
	if err := g.enter(); err != nil {
		return false, err
	}
	defer g.mu.RUnlock()
	return g.Blockstore.Has(ctx, c)
}

func (g *guardedStore) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	if err := g.enter(); err != nil {
		return nil, err
	}
	defer g.mu.RUnlock()
	return g.Blockstore.Get(ctx, c)
}

func (g *guardedStore) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	if err := g.enter(); err != nil {
		return -1, err
	}
	defer g.mu.RUnlock()
	return g.Blockstore.GetSize(ctx, c)
}

func (g *guardedStore) Put(ctx context.Context, blk blocks.Block) error {
	if err := g.enter(); err != nil {
		return err
	}
	defer g.mu.RUnlock()
	return g.Blockstore.Put(ctx, blk)
}

func (g *guardedStore) PutMany(ctx context.Context, blks []blocks.Block) error {
	if err := g.enter(); err != nil {
		return err
	}
	defer g.mu.RUnlock()
	return g.Blockstore.PutMany(ctx, blks)
}

func (g *guardedStore) DeleteBlock(ctx context.Context, c cid.Cid) error {
	if err := g.enter(); err != nil {
		return err
	}
	defer g.mu.RUnlock()
	return g.Blockstore.DeleteBlock(ctx, c)
}
