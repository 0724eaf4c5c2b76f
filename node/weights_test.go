package node

import (
	"context"
	"fmt"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/ipfs/go-cid"
)

// openWeights reads the stored weights c whole and opens them in place.
func openWeights(ctx context.Context, store weightStore, c cid.Cid, max int64) (*checkpoint.Reader, error) {
	b, err := store.ReadFile(ctx, c, max)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c, err)
	}
	r, err := checkpoint.OpenBytes(b) // read in place: fusion views, not copies, its spans
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	return r, nil
}
