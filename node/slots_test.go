package node

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestHolderFirst puts the named holder first when it is connected and
// leaves the order alone otherwise.
func TestHolderFirst(t *testing.T) {
	ps := []peer.ID{"a", "b", "c"}
	for _, tc := range []struct {
		ctx  context.Context
		want []peer.ID
	}{
		{context.Background(), ps},
		{withHolder(context.Background(), "c"), []peer.ID{"c", "a", "b"}},
		{withHolder(context.Background(), "a"), ps},
		{withHolder(context.Background(), "z"), ps},
	} {
		if got := holderFirst(tc.ctx, slices.Clone(ps)); !slices.Equal(got, tc.want) {
			t.Errorf("holderFirst = %v, want %v", got, tc.want)
		}
	}
}

// TestSlotsBound lets no more than the slot count in at once, and gives up
// a wait when its context ends.
func TestSlotsBound(t *testing.T) {
	s := make(slots, 2)
	ctx := context.Background()
	if !s.acquire(ctx) || !s.acquire(ctx) {
		t.Fatal("two slots not granted")
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if s.acquire(short) {
		t.Fatal("a third holder got in")
	}
	s.release()
	if !s.acquire(ctx) {
		t.Fatal("a released slot was not granted")
	}
}
