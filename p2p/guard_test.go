package p2p

import (
	"context"
	"errors"
	"testing"
)

// Bitswap's workers may ask for blocks after the store closed; they must
// get ErrClosed, not reach pebble (which panics on a closed database).
func TestBitswapStoreFailsCleanlyAfterClose(t *testing.T) {
	n := newTestNode(t, nil)
	ctx := context.Background()
	root, err := n.Blocks().ImportBytes(ctx, randomBytes(300<<10, 3))
	if err != nil {
		t.Fatal(err)
	}
	g := n.Blocks().guard
	if ok, err := g.Has(ctx, root); !ok || err != nil {
		t.Fatalf("open store: Has = %v, %v", ok, err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Has(ctx, root); !errors.Is(err, ErrClosed) {
		t.Fatalf("Has after Close: %v, want ErrClosed", err)
	}
	if _, err := g.Get(ctx, root); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v, want ErrClosed", err)
	}
	if _, err := g.GetSize(ctx, root); !errors.Is(err, ErrClosed) {
		t.Fatalf("GetSize after Close: %v, want ErrClosed", err)
	}
}
