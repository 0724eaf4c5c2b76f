package node

import (
	"context"
	"errors"

	"github.com/coldnode/coldnode/node/memlimit"
	"github.com/coldnode/coldnode/train/checkpoint"
)

// errStopping: the node stops; the work is not done (and not judged).
var errStopping = errors.New("node stopping")

// trainWindow is a training job of the node's own, for round; done is
// closed when it ends, however it ends.
type trainWindow struct {
	round uint64
	done  chan struct{}
}

// awaitOwnTraining holds a check of another delta of round until the
// node's own training of that round has ended, under a mean rule: the
// check adds the delta to the round's running sum (8 bytes a value, twice
// the body), which would otherwise live beside the trainer's weights,
// gradients and moments and raise the node's peak memory by that much.
// The delta is fetched before the wait, so only its check moves: the
// same work, done once the trainer's memory is free. It reports false
// when ctx ends first. Only with Config.CheckAfterTraining, or when the
// sum would not fit in Config.MemoryBudget (shortOfMemory).
func (rt *runtime) awaitOwnTraining(ctx context.Context, round uint64) bool {
	if rt.sums == nil {
		return true
	}
	w := rt.ownTrain.Load()
	if w == nil || w.round != round {
		return true
	}
	reason := "setting"
	if !rt.n.cfg.CheckAfterTraining {
		if !rt.shortOfMemory(ctx) {
			return true
		}
		reason = "memory"
	}
	rt.n.metrics.ChecksHeld.WithLabelValues(reason).Inc()
	select {
	case <-w.done:
		return true
	case <-ctx.Done():
		return false
	}
}

// holdsChecks reports whether every check waits for the node's own
// training (Config.CheckAfterTraining).
func (rt *runtime) holdsChecks() bool {
	return rt.sums != nil && rt.n.cfg.CheckAfterTraining
}

// liveHeap reads the live heap (memlimit.LiveHeap; tests replace it).
var liveHeap = memlimit.LiveHeap

// shortOfMemory reports whether a running sum of the genesis layout (8
// bytes a body value) beside the live heap would exceed the node's
// MemoryBudget. Without a budget, or a layout to size the sum by, it is
// never short.
func (rt *runtime) shortOfMemory(ctx context.Context) bool {
	budget := rt.n.cfg.MemoryBudget
	if budget <= 0 {
		return false
	}
	ref, err := rt.genesisLayout(ctx)
	if err != nil {
		return false
	}
	live, need := liveHeap(), sumBytes(ref)
	if live+need <= budget {
		return false
	}
	rt.n.log.Debug("check waits for the training: the running sum would not fit in the memory budget",
		"budget_mib", budget>>20, "live_heap_mib", live>>20, "sum_mib", need>>20)
	return true
}

// sumBytes is the size of a running sum over layout's body: 8 bytes a
// value (fusion.Sum).
func sumBytes(layout *checkpoint.Reader) int64 {
	var n int64
	for _, name := range layout.Names() {
		if checkpoint.IsHead(name) {
			continue
		}
		_, shape, _ := layout.Info(name)
		v := int64(1)
		for _, d := range shape {
			v *= int64(d)
		}
		n += 8 * v
	}
	return n
}
