package node

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/coldnode/coldnode/consensus/fusion"
	dto "github.com/prometheus/client_model/go"
)

// With CheckAfterTraining, a check of the round the node trains waits for
// the training to end; a check of another round, without a running sum,
// or without the setting, does not wait.
func TestChecksWaitForOwnTraining(t *testing.T) {
	hold := &Node{cfg: Config{CheckAfterTraining: true}, metrics: NoopMetrics()}
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

// Without CheckAfterTraining, a check of the round being trained waits
// only when the running sum beside the live heap would not fit in the
// memory budget.
func TestChecksWaitWhenShortOfMemory(t *testing.T) {
	ref := layoutOnly(t, 10, 100) // body: 1,007 values, a sum of 8,056 bytes; the head is not summed
	if got := sumBytes(ref); got != 8056 {
		t.Fatalf("sumBytes = %d, want 8056", got)
	}
	defer func(f func() int64) { liveHeap = f }(liveHeap)
	liveHeap = func() int64 { return 1000 }
	ctx := context.Background()
	for _, c := range []struct {
		budget int64
		holds  bool
	}{{0, false}, {9056, false}, {9055, true}, {1, true}} {
		n := &Node{log: slog.New(slog.NewTextHandler(io.Discard, nil)), cfg: Config{MemoryBudget: c.budget}, metrics: NoopMetrics()}
		rt := &runtime{n: n, sums: newSums(fusion.Rule{Kind: fusion.Mean}, nil), gref: genesisRef{r: ref}}
		w := &trainWindow{round: 5, done: make(chan struct{})}
		rt.ownTrain.Store(w)
		if !rt.awaitOwnTraining(ctx, 6) {
			t.Fatalf("budget %d: a check of another round did not go ahead", c.budget)
		}
		if !c.holds { // returns at once, or the test hangs
			if !rt.awaitOwnTraining(ctx, 5) {
				t.Fatalf("budget %d: the check reported stopping", c.budget)
			}
			continue
		}
		passed := make(chan bool, 1)
		go func() { passed <- rt.awaitOwnTraining(ctx, 5) }()
		select {
		case <-passed:
			t.Fatalf("budget %d: the check went ahead during the training", c.budget)
		case <-time.After(20 * time.Millisecond):
		}
		close(w.done)
		if !<-passed {
			t.Fatalf("budget %d: the check reported stopping when the training ended", c.budget)
		}
		var held dto.Metric
		if err := n.metrics.ChecksHeld.WithLabelValues("memory").Write(&held); err != nil || held.GetCounter().GetValue() != 1 {
			t.Fatalf("budget %d: coldnode_node_checks_held_total{reason=memory} = %v, want 1 (%v)", c.budget, held.GetCounter().GetValue(), err)
		}
	}
}
