package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coldnode/coldnode/consensus"
	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/ipfs/go-cid"
)

// onEvent logs, counts and acts on one state machine event.
func (rt *runtime) onEvent(ctx context.Context, e consensus.Event) error {
	n := rt.n
	switch e := e.(type) {
	case consensus.HeadChanged:
		return rt.onHead(ctx, e)
	case consensus.Finalized:
		n.log.Info("final", "round", e.Round, "record", e.Record)
		n.emit(Event{Kind: "final", Round: e.Round, Record: e.Record.String(), Text: e.String()})
	case consensus.Proposed:
		n.metrics.Contributions.WithLabelValues("own").Inc()
		n.log.Info("proposed", "round", e.Round, "cid", e.Contribution, "base", e.Base)
		n.emit(Event{Kind: "proposed", Round: e.Round, Record: e.Contribution.String(), Base: e.Base.String(), Text: e.String()})
	case consensus.Built:
		n.log.Info("built record", "round", e.Round, "record", e.Record, "contributions", e.Contributions)
		n.emit(Event{Kind: "built", Round: e.Round, Record: e.Record.String(), Contributions: e.Contributions, Text: e.String()})
	case consensus.Rejected:
		rt.punish(rt.verdict.reason(e), e.From)
		n.log.Info("rejected", "cid", e.CID, "peer", e.From, "reason", e.Reason)
		n.emit(Event{Kind: "rejected", Record: e.CID.String(), Text: e.String()})
	case consensus.Equivocation:
		rt.punish(RejectEquivocation, e.Peer)
		n.log.Warn("equivocation", "peer", e.Peer, "base", e.Base, "first", e.First, "second", e.Second)
		n.emit(Event{Kind: "equivocation", Base: e.Base.String(), Text: e.String()})
	default:
		n.log.Debug("event", "event", e.String())
	}
	return nil
}

// onHead indexes the new head's chain, persists the head pointer, prints
// one line and starts training on the new base.
func (rt *runtime) onHead(ctx context.Context, e consensus.HeadChanged) error {
	n := rt.n
	if e.Round > 0 {
		if err := rt.indexChain(ctx, e.Record); err != nil {
			return err
		}
	}
	st := State{Head: e.Record.String(), Height: int64(e.Round), Base: e.Base.String(), Finality: int64(rt.genesis.Params.Finality)}
	faultPoint("persist")
	if err := rt.net.blocks.Sync(ctx); err != nil { // the indexed blocks, before the state naming them
		return fmt.Errorf("head of round %d: %w", e.Round, err)
	}
	if err := n.repo.Index().SaveState(st); err != nil {
		return err
	}
	n.metrics.HeadHeight.Set(float64(e.Round))
	n.metrics.Rounds.Inc()
	fmt.Fprintf(n.out, "round %d head %s base %s contributions %d\n", e.Round, e.Record, e.Base, e.Contributions)
	n.log.Info("head", "round", e.Round, "record", e.Record, "base", e.Base, "contributions", e.Contributions, "weight", e.Weight)
	n.emit(Event{Kind: "head", Round: e.Round, Record: e.Record.String(), Base: e.Base.String(), Contributions: e.Contributions, Text: e.String()})
	if rt.sums != nil {
		rt.sums.headAt(e.Round) // its sum, if any, is of no more use
	}
	rt.maybeTrain()
	return nil
}

// indexChain writes the round files that differ from the head's chain (a
// fork switch rewrites the rounds that changed). It finds them from the
// head back to the first round the persisted head counts and the index
// agrees on (files above the persisted head may be left from a fork given
// up, so they are not trusted), then writes them oldest first. Before
// rewriting rounds the persisted head counts, it moves that head back to
// the fork point. So the rounds up to the persisted head are always one
// chain, for readers and after a crash in the middle of a rewrite.
func (rt *runtime) indexChain(ctx context.Context, head cid.Cid) error {
	x := rt.n.repo.Index()
	st, err := x.State()
	if err != nil {
		return err
	}
	var changed []RoundInfo
	for c := head; !c.Equals(rt.sm.Swarm()); {
		ri, parent, err := rt.roundInfo(ctx, c)
		if err != nil {
			return err
		}
		var old RoundInfo
		if ri.Round <= st.Height && readJSON(x.roundPath(ri.Round), &old) == nil && old.Record == ri.Record {
			break
		}
		changed = append(changed, ri)
		c = parent
	}
	if len(changed) > 0 {
		if err := x.rewindTo(st, changed[len(changed)-1]); err != nil {
			return err
		}
	}
	for i := len(changed) - 1; i >= 0; i-- {
		if err := x.SaveRound(changed[i]); err != nil {
			return err
		}
		rt.countContributions(changed[i])
	}
	return nil
}

// countContributions counts the peers' contributions of a newly indexed round
// (the node counts its own when it proposes them).
func (rt *runtime) countContributions(ri RoundInfo) {
	self := rt.net.host.ID().String()
	for _, c := range ri.Contributions {
		if c.Peer != self {
			rt.n.metrics.Contributions.WithLabelValues("peer").Inc()
		}
	}
}

// roundInfo reads a record and its contributions from the local store.
func (rt *runtime) roundInfo(ctx context.Context, c cid.Cid) (RoundInfo, cid.Cid, error) {
	rec, err := readRecord(ctx, rt.net.blocks, c)
	if err != nil {
		return RoundInfo{}, cid.Undef, err
	}
	ri := RoundInfo{Round: int64(rec.Round), Record: c.String(), Parent: rec.Parent.String(),
		Base: rec.Base.String(), Fused: rec.Fused.String()}
	for _, cc := range rec.Contributions {
		ci, err := readContribution(ctx, rt.net.blocks, cc)
		if err != nil {
			return ri, cid.Undef, err
		}
		ri.Contributions = append(ri.Contributions, ci)
	}
	return ri, rec.Parent, nil
}

// maybeTrain starts a training job on the head's base unless one runs, this
// node already trained on that base, it is still catching up with its peers,
// or it is about to stop.
func (rt *runtime) maybeTrain() {
	h := rt.sm.Head()
	if rt.training || rt.tried[h.Base] || rt.finished() || rt.syncing() {
		return
	}
	rt.training, rt.tried[h.Base] = true, true
	rt.ownTrain.Store(&trainWindow{round: h.Round + 1, done: make(chan struct{})})
	if rt.holdsChecks() {
		rt.sums.training(h.Round + 1)
	}
	rt.jobs <- trainJob{Round: h.Round + 1, Base: h.Base}
}

// syncing reports whether the node still waits to learn the swarm's head:
// until it has heard from a peer and every fetch, check and fusion that
// brought on is done, or until syncUntil.
func (rt *runtime) syncing() bool {
	if rt.syncUntil.IsZero() || !time.Now().Before(rt.syncUntil) {
		return false
	}
	if rt.heard && len(rt.inflight) == 0 {
		rt.syncUntil = time.Time{}
		return false
	}
	return true
}

// onTrained proposes a finished contribution and looks for more work.
func (rt *runtime) onTrained(ctx context.Context, d trainDone) {
	rt.training = false
	if w := rt.ownTrain.Swap(nil); w != nil {
		close(w.done)
	}
	n := rt.n
	if d.Err != nil {
		if localFailure(d.Err) {
			n.log.Error("training could not store its delta", "round", d.Job.Round, "err", DiskHint(d.Err))
			rt.failDisk(d.Err)
			return
		}
		if ctx.Err() == nil {
			n.log.Error("training failed; waiting for the next base", "round", d.Job.Round, "err", d.Err)
		}
		rt.maybeTrain()
		return
	}
	delta, _ := cid.Decode(d.Own.Delta)
	err := rt.sm.Step(consensus.Propose{Base: d.Job.Base, Delta: delta, Task: d.Own.Task,
		Examples: d.Own.Examples, Metrics: d.Own.Metrics})
	switch {
	case errors.Is(err, consensus.ErrAlreadyProposed):
		n.log.Info("contribution already proposed on this base", "round", d.Job.Round, "base", d.Job.Base)
	case err != nil:
		n.log.Warn("proposal not accepted", "round", d.Job.Round, "base", d.Job.Base, "err", err)
	default:
		n.emit(Event{Kind: "trained", Round: d.Job.Round, Base: d.Job.Base.String(), Text: fmt.Sprintf("delta %s", d.Own.Delta)})
		rt.addOwn(ctx, d.Job, delta)
	}
	rt.maybeTrain()
}

// addOwn adds the node's own delta to the round's running sum in the
// background (other deltas are added by their checks), so the round's
// fusion need not read it. A failure only costs that read later.
func (rt *runtime) addOwn(ctx context.Context, job trainJob, delta cid.Cid) {
	if rt.sums == nil {
		return
	}
	rt.spawn(ctx, "sum "+delta.String(), func(ctx context.Context) consensus.Message {
		ref, err := rt.genesisLayout(ctx)
		if err != nil {
			return nil
		}
		open := func(ctx context.Context) (fusion.Input, error) {
			r, err := openDelta(ctx, rt.store, delta, rt.genesis.Params.MaxDelta, ref)
			return fusion.Input{ID: delta.String(), Delta: r}, err
		}
		if _, err := rt.sums.addLazy(ctx, job.Base, job.Round, delta.String(), open); err != nil {
			rt.n.log.Warn("own delta not added to the running sum", "round", job.Round, "err", err)
		}
		return nil
	})
}
