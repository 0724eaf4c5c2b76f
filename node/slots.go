package node

import (
	"context"
	goruntime "runtime"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
)

// slots bounds how many workers of one kind run at once. A delta check holds
// the whole delta in memory several times over (the decoded tensors, the
// canonical re-encoding, the genesis it is matched against), so checking
// every contribution of a large round at once would need tens of bodies of
// memory; with one slot per CPU they run as fast and hold a few. Fetches
// run before a slot is taken, so a slow fetch never holds up a check.
type slots chan struct{}

// checkSlots is the number of delta checks that may run at once.
func checkSlots() slots { return make(slots, max(2, goruntime.GOMAXPROCS(0))) }

// acquire waits for a free slot; false when ctx ended first.
func (s slots) acquire(ctx context.Context) bool {
	select {
	case s <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s slots) release() { <-s }

// holderKey carries, in a fetch's context, a peer known to hold the file:
// the author of a contribution holds its delta.
type holderKey struct{}

// withHolder names p as a holder of what is fetched under ctx.
func withHolder(ctx context.Context, p peer.ID) context.Context {
	return context.WithValue(ctx, holderKey{}, p)
}

// holderFirst puts the holder named in ctx, when it is connected, first in
// peers: a direct fetch from it succeeds at once, while asking peers that do
// not hold the file yet costs a refusal each and, when none has it, the
// much slower bitswap fallback.
func holderFirst(ctx context.Context, peers []peer.ID) []peer.ID {
	h, _ := ctx.Value(holderKey{}).(peer.ID)
	i := slices.Index(peers, h)
	if h == "" || i <= 0 {
		return peers
	}
	out := append([]peer.ID{h}, peers[:i]...)
	return append(out, peers[i+1:]...)
}
