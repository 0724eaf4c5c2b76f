package node

import (
	"context"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
)

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
