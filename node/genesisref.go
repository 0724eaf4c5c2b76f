package node

import (
	"context"
	"fmt"
	"sync"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// genesisRef holds the genesis weights once read: every delta check matches
// a delta against them, and reading them again per check cost a whole body
// of memory and an export from the block store each time.
type genesisRef struct {
	mu sync.Mutex // checks run concurrently
	r  *checkpoint.Reader
}

// genesisWeights returns the genesis weights, reading them on first use.
// The Reader is read-only, so concurrent checks share it.
func (rt *runtime) genesisWeights(ctx context.Context) (*checkpoint.Reader, error) {
	g := &rt.gref
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.r != nil {
		return g.r, nil
	}
	b, err := rt.store.ReadFile(ctx, rt.genesis.Weights, rt.genesis.Params.MaxDelta+(64<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rt.genesis.Weights, err)
	}
	r, err := checkpoint.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rt.genesis.Weights, err)
	}
	g.r = r
	return r, nil
}
