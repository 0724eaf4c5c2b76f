package node

import (
	"context"
	"testing"
	"time"

	"github.com/coldnode/coldnode/consensus/fusion"
)

// With CheckAfterTraining, a check of the round the node trains waits for
// the training to end; a check of another round, without a running sum,
// or without the setting, does not wait.
func TestChecksWaitForOwnTraining(t *testing.T) {
	hold := &Node{cfg: Config{CheckAfterTraining: true}}
	rt := &runtime{n: hold, sums: newSums(fusion.Rule{Kind: fusion.Mean}, nil)}
	ctx := context.Background()
	if !rt.awaitOwnTraining(ctx, 5) {
		t.Fatal("waited with no training running")
	}
	w := &trainWindow{round: 5, done: make(chan struct{})}
	rt.ownTrain.Store(w)
	if !rt.awaitOwnTraining(ctx, 4) || !rt.awaitOwnTraining(ctx, 6) {
		t.Fatal("a check of another round reported stopping")
	}
	passed := make(chan bool, 1)
	go func() { passed <- rt.awaitOwnTraining(ctx, 5) }()
	select {
	case <-passed:
		t.Fatal("a check of the round being trained went ahead during the training")
	case <-time.After(20 * time.Millisecond):
	}
	close(w.done)
	if !<-passed {
		t.Fatal("the check reported stopping when the training ended")
	}
	cancelled, cancel := context.WithCancel(ctx)
	rt.ownTrain.Store(&trainWindow{round: 7, done: make(chan struct{})})
	cancel()
	if rt.awaitOwnTraining(cancelled, 7) {
		t.Fatal("a check went ahead when the node was stopping")
	}
	noSum := &runtime{n: hold}
	noSum.ownTrain.Store(&trainWindow{round: 7, done: make(chan struct{})})
	if !noSum.awaitOwnTraining(ctx, 7) {
		t.Fatal("waited under a rule without a running sum")
	}
	overlap := &runtime{n: &Node{}, sums: rt.sums}
	overlap.ownTrain.Store(&trainWindow{round: 7, done: make(chan struct{})})
	if !overlap.awaitOwnTraining(ctx, 7) {
		t.Fatal("waited without CheckAfterTraining")
	}
}
