package p2p

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// FetchFrom makes the DAG rooted at root local: first over DAGProtocol from
// each peer in from, in order (peers that announced root), and, if none of
// them delivers it, over bitswap from every connected peer. A peer that
// sends a bad block (ErrBadBlock, ErrNotInDAG) is logged and skipped; the
// blocks it sent before that were verified and are kept. The size cap, an
// ended ctx or a closed store stop the fetch at once: bitswap would fail
// the same way.
func (n *Node) FetchFrom(ctx context.Context, from []peer.ID, root cid.Cid, maxBytes int64, progress Progress) (int64, error) {
	var errs []error
	for _, p := range from {
		done, err := n.FetchDirect(ctx, p, root, maxBytes, progress)
		if err == nil {
			return done, nil
		}
		if final(ctx, err) {
			return done, err
		}
		n.log.Warn("direct fetch failed; trying the next peer", "cid", root, "peer", p, "err", err)
		errs = append(errs, err)
	}
	done, err := n.blocks.Fetch(ctx, root, maxBytes, progress)
	if err != nil {
		errs = append(errs, err)
		return done, fmt.Errorf("p2p fetch %s: direct and bitswap failed: %w", root, errors.Join(errs...))
	}
	return done, nil
}

// final reports whether a direct fetch error must not fall back.
func final(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrClosed)
}
