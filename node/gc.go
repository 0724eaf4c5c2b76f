package node

import (
	"context"
	"fmt"
	"time"

	"github.com/coldnode/coldnode/p2p"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// GCReport is what one garbage collection did.
type GCReport struct {
	Pins    int   `json:"pins"`    // roots pinned by the policy
	Pinned  int   `json:"pinned"`  // pins added
	Dropped int   `json:"dropped"` // pins removed
	Kept    int   `json:"kept"`    // blocks kept
	Removed int   `json:"removed"` // blocks removed
	Freed   int64 `json:"freed"`   // bytes removed
}

func (r GCReport) String() string {
	return fmt.Sprintf("%d pins (+%d -%d), %d blocks kept, %d removed, %d bytes freed",
		r.Pins, r.Pinned, r.Dropped, r.Kept, r.Removed, r.Freed)
}

// collect applies the keep policy to the store's pins and deletes every
// block no pin reaches.
func collect(ctx context.Context, k keepPolicy) (GCReport, error) {
	want, err := k.pins(ctx)
	if err != nil {
		return GCReport{}, fmt.Errorf("gc: pin policy: %w", err)
	}
	rep := GCReport{Pins: len(want)}
	if rep.Pinned, rep.Dropped, err = k.bs.SetPins(ctx, want); err != nil {
		return rep, fmt.Errorf("gc: %w", err)
	}
	st, err := k.bs.GC(ctx)
	rep.Kept, rep.Removed, rep.Freed = st.Kept, st.Removed, st.Freed
	if err != nil {
		return rep, fmt.Errorf("gc: %w", err)
	}
	return rep, nil
}

// CollectGarbage pins what the repository at path must keep (see the keep
// policy in docs/architecture.md) and removes every other block, then drops
// removed blocks from the block journal. It needs the repository to itself:
// a running node collects on its own every Config.GCEvery rounds.
func CollectGarbage(ctx context.Context, path string) (GCReport, error) {
	if Locked(path) {
		return GCReport{}, hint(fmt.Errorf("%w: a node runs on %s", ErrLocked, path),
			"a running node collects garbage itself every --gc-every rounds; stop it to collect now")
	}
	o, err := OpenOffline(path)
	if err != nil {
		return GCReport{}, err
	}
	defer o.Close()
	bs, err := o.openBlocks()
	if err != nil {
		return GCReport{}, err
	}
	info, err := o.ID(ctx)
	if err != nil {
		return GCReport{}, err
	}
	self, _ := peer.Decode(info.Peer)
	rep, err := collect(ctx, keepPolicy{repo: o.repo, bs: bs, self: self})
	if err != nil {
		return rep, err
	}
	return rep, compactJournal(ctx, o.repo, bs)
}

// maybeGC collects garbage once GCEvery rounds have passed since the last
// collection, at a moment when no worker or training job could be writing
// a block the policy does not know of yet. It runs on the loop goroutine,
// which therefore starts nothing new meanwhile.
func (rt *runtime) maybeGC(ctx context.Context) {
	every := uint64(rt.n.cfg.GCEvery)
	h := rt.sm.Head().Round
	if every == 0 || h < rt.gcRound+every || rt.training || len(rt.inflight) > 0 {
		return
	}
	rt.gcRound = h
	start := time.Now()
	rep, err := collect(ctx, keepPolicy{repo: rt.n.repo, bs: rt.net.blocks, self: rt.net.host.ID()})
	if err != nil {
		rt.n.log.Warn("garbage collection failed", "round", h, "err", err)
		return
	}
	rt.n.log.Info("garbage collected", "round", h, "removed", rep.Removed, "kept", rep.Kept,
		"freed", rep.Freed, "seconds", fmt.Sprintf("%.3f", time.Since(start).Seconds()))
	rt.n.emit(Event{Kind: "gc", Round: h, Text: rep.String()})
}

// compactJournal rewrites the block journal without the blocks GC removed.
func compactJournal(ctx context.Context, r *Repo, bs *p2p.Blocks) error {
	cids, err := readJournal(r.File(journalFile))
	if err != nil {
		return err
	}
	var keep []byte
	for _, c := range cids {
		if ok, err := bs.Has(ctx, c); err != nil {
			return err
		} else if ok {
			keep = append(keep, c.String()+"\n"...)
		}
	}
	return writeFileMode(r.File(journalFile), keep, 0o600)
}

// presentBlocks filters cids to those in the local store.
func presentBlocks(ctx context.Context, bs *p2p.Blocks, cids []cid.Cid) []cid.Cid {
	out := cids[:0:0]
	for _, c := range cids {
		if ok, _ := bs.Has(ctx, c); ok {
			out = append(out, c)
		}
	}
	return out
}
