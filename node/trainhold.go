package node

import (
	"context"
	"errors"
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
// when ctx ends first. Only with Config.CheckAfterTraining.
func (rt *runtime) awaitOwnTraining(ctx context.Context, round uint64) bool {
	if !rt.holdsChecks() {
		return true
	}
	w := rt.ownTrain.Load()
	if w == nil || w.round != round {
		return true
	}
	select {
	case <-w.done:
		return true
	case <-ctx.Done():
		return false
	}
}

// holdsChecks reports whether checks wait for the node's own training.
func (rt *runtime) holdsChecks() bool {
	return rt.sums != nil && rt.n.cfg.CheckAfterTraining
}
