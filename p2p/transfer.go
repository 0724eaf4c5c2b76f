package p2p

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// FetchFrom makes the DAG rooted at root local: first over DAGProtocol from
// each peer in from, in order (peers that announced root), and, if none of
// them delivers it, over bitswap from every connected peer. A peer that
// sends a bad block (ErrBadBlock, ErrNotInDAG) is logged and skipped; the
// blocks it sent before that were verified and are kept. The size cap, an
// ended ctx or a closed store stop the fetch at once: bitswap would fail
// the same way. A peer that sends nothing for PeerStall (a peer that is
// gone, or across a partition, before its connection is declared dead) is
// given up for the next one.
func (n *Node) FetchFrom(ctx context.Context, from []peer.ID, root cid.Cid, maxBytes int64, progress Progress) (int64, error) {
	return n.fetchFrom(ctx, from, root, maxBytes, progress, nil)
}

// fetchFrom is FetchFrom, gathering the file in sink (when not nil) if a
// direct fetch brings it (FetchFromInto).
func (n *Node) fetchFrom(ctx context.Context, from []peer.ID, root cid.Cid, maxBytes int64, progress Progress, sink *fileSink) (int64, error) {
	var errs []error
	for _, p := range from {
		done, err := n.fetchWatched(ctx, p, root, maxBytes, progress, sink)
		if err == nil {
			return done, nil
		}
		if final(ctx, err) {
			return done, err
		}
		if errors.Is(err, ErrRefused) {
			// The usual answer of a peer asked before it has the file.
			n.log.Debug("peer does not have it; trying the next peer", "cid", root, "peer", p, "err", err)
		} else {
			n.log.Warn("direct fetch failed; trying the next peer", "cid", root, "peer", p, "err", err)
		}
		errs = append(errs, err)
	}
	sink.fail() // bitswap stores the blocks in no order
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

// errPeerStalled ends a direct fetch from a peer that went quiet.
var errPeerStalled = errors.New("peer sent nothing for the stall time")

// fetchWatched is FetchDirect from p, cancelled with errPeerStalled when p
// sends no block for PeerStall.
func (n *Node) fetchWatched(ctx context.Context, p peer.ID, root cid.Cid, maxBytes int64, progress Progress, sink *fileSink) (int64, error) {
	stall := n.cfg.PeerStall
	if stall <= 0 {
		return n.fetchDirectInto(ctx, p, root, maxBytes, progress, sink)
	}
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t := time.AfterFunc(stall, func() { cancel(errPeerStalled) })
	defer t.Stop()
	watched := func(done, total int64) {
		t.Reset(stall)
		if progress != nil {
			progress(done, total)
		}
	}
	return n.fetchDirectInto(pctx, p, root, maxBytes, watched, sink)
}
