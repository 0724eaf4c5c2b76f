package consensus

// Speculative fusion (docs/protocol.md §6.1): once its close rule holds, a
// peer fuses its usable set at once (build=false), so it fuses alongside
// the first-ranked builder and validates that builder's record on arrival;
// building itself still waits for the ranked backoff.

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	fuse "github.com/coldnode/coldnode/consensus/fusion"
)

var specPeers = []string{"a", "b", "c", "d", "e"}

// specCluster starts contributors (quorum, window 10 s, BuildSpread 2 s)
// and an observer o, makes the contributors propose and delivers: the
// round closes 10 s later.
func specCluster(t *testing.T, quorum int, contributors ...string) *cluster {
	c := newCluster(t, params(quorum, 2))
	c.spread = 2 * time.Second
	for _, n := range specPeers {
		c.add(n)
	}
	c.addObserver("o")
	for _, n := range contributors {
		c.propose(n, false, false)
	}
	c.deliver()
	c.out.Reset()
	return c
}

// ranked orders names by build rank on the genesis base, first first.
func ranked(c *cluster, names []string) []string {
	base := c.nodes[names[0]].m.gen.Weights
	out := append([]string(nil), names...)
	sort.Slice(out, func(i, j int) bool {
		return rankKey(c.nodes[out[i]].m.self, base) < rankKey(c.nodes[out[j]].m.self, base)
	})
	return out
}

// builders lists the peers that logged a build, in trace order.
func builders(c *cluster) []string {
	var out []string
	for _, l := range strings.Split(c.out.String(), "\n") {
		if name, rest, ok := strings.Cut(l, ": "); ok && strings.HasPrefix(rest, "built ") {
			out = append(out, name)
		}
	}
	return out
}

// deliverTo hands the queued messages to n alone and drops them.
func (c *cluster) deliverTo(n *tnode) {
	msgs := c.outbox
	c.outbox = nil
	for _, msg := range msgs {
		c.step(n, Gossip{From: c.nodes[msg.from].m.self, Payload: msg.payload})
		c.process(n)
	}
}

func fuseCounts(c *cluster) map[string]int {
	out := map[string]int{}
	for _, name := range c.order {
		out[name] = c.nodes[name].fuses
	}
	return out
}

// Every peer, not only the first-ranked builder, requests its fusion in
// the Tick that closes the round, before the builder's record reaches it.
func TestSpeculativeFusionBeforeRecord(t *testing.T) {
	c := specCluster(t, 5, specPeers...)
	for name, n := range fuseCounts(c) {
		if n != 0 {
			t.Fatalf("%s fused %d times before the round closed", name, n)
		}
	}
	c.tick(10 * time.Second) // quorum at 0 s + window 10 s: closed now
	first := ranked(c, specPeers)[0]
	if b := builders(c); len(b) != 1 || b[0] != first {
		t.Fatalf("builders at the close %v, want only the first-ranked %s", b, first)
	}
	for _, name := range c.order {
		n := c.nodes[name]
		if name != first && n.m.Head().Round != 0 {
			t.Fatalf("%s already has the record: the test needs it undelivered", name)
		}
		if n.fuses != 1 {
			t.Fatalf("%s requested %d fusions at the close, want 1 (speculative unless it builds):\n%s", name, n.fuses, c.out)
		}
	}
}

// The first-ranked peer builds in the Tick that closes the round, not
// before (nobody fuses before the close).
func TestSpeculationFirstRankBuildsAtOnce(t *testing.T) {
	c := specCluster(t, 5, specPeers...)
	c.tick(10*time.Second - time.Millisecond)
	if b := builders(c); len(b) != 0 || c.nodes["o"].fuses != 0 {
		t.Fatalf("built %v, observer fused %d times, before the close", b, c.nodes["o"].fuses)
	}
	c.tick(time.Millisecond)
	if b, first := builders(c), ranked(c, specPeers)[0]; len(b) != 1 || b[0] != first {
		t.Fatalf("builders at the close %v, want %s", b, first)
	}
}

// A later rank whose speculative fusion finished at the close still waits
// its backoff (rank 1: one BuildSpread) before building, when the
// first-ranked peer's record does not reach it.
func TestSpeculationLaterRankWaitsBackoff(t *testing.T) {
	c := specCluster(t, 5, specPeers...)
	order := ranked(c, specPeers)
	c.partition(append([]string{order[0], "/", "o"}, order[1:]...))
	c.tick(10 * time.Second)
	c.deliver() // order[0]'s record does not cross the partition
	second := c.nodes[order[1]]
	if second.fuses != 1 {
		t.Fatalf("rank 1 requested %d fusions at the close, want 1", second.fuses)
	}
	for key, f := range second.m.fusions {
		if !f.result.Defined() || f.build {
			t.Fatalf("rank 1 fusion %s: result %v build %v, want finished and not building", key, f.result, f.build)
		}
	}
	c.tick(c.spread - time.Millisecond)
	c.deliver()
	if b := builders(c); len(b) != 1 {
		t.Fatalf("builders %v before rank 1's backoff ended, want only %s", b, order[0])
	}
	c.tick(time.Millisecond)
	if b := builders(c); len(b) != 2 || b[1] != order[1] {
		t.Fatalf("builders %v at rank 1's backoff, want %s then %s", b, order[0], order[1])
	}
	if second.fuses != 1 {
		t.Fatalf("rank 1 fused %d times, want its speculative fusion reused", second.fuses)
	}
}

// The builder's record carries the set every peer fused speculatively:
// each validates it on arrival with no further FuseJob.
func TestSpeculatedRecordValidatesWithoutFusing(t *testing.T) {
	c := specCluster(t, 5, specPeers...)
	c.tick(10 * time.Second)
	before := fuseCounts(c)
	c.deliver()
	mustAgree(t, c)
	if h := c.nodes["o"].m.Head(); h.Round != 1 || h.Weight != 5 {
		t.Fatalf("record not adopted on arrival: %+v", h)
	}
	if after := fuseCounts(c); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("FuseJobs while the record arrived: %v, before %v:\n%s", after, before, c.out)
	}
}

// A record arriving while the speculative fusion of its set still runs
// waits for that fusion instead of requesting another.
func TestSpeculationInFlightServesRecord(t *testing.T) {
	c := specCluster(t, 5, specPeers...)
	o := c.nodes["o"]
	o.holdFuse = true
	c.tick(10 * time.Second)
	if len(o.held) != 1 {
		t.Fatalf("observer holds %d fusions at the close, want 1 speculative", len(o.held))
	}
	c.deliver()
	if o.fuses != 1 || o.m.Head().Round != 0 {
		t.Fatalf("record arrived: %d FuseJobs, head %+v; want 1 and the record pending", o.fuses, o.m.Head())
	}
	c.release(o)
	if h := o.m.Head(); h.Round != 1 || h.Weight != 5 || o.fuses != 1 {
		t.Fatalf("after the speculative fusion: head %+v, %d FuseJobs; want round 1 weight 5, 1 job", h, o.fuses)
	}
}

// A record with the set already live (here: arrived before the local
// close) is verified with its own fusion; the close adds none.
func TestSpeculationSkipsLiveRecord(t *testing.T) {
	c := specCluster(t, 5)
	o := c.nodes["o"]
	c.partition([]string{"a", "b", "c", "d", "e", "/", "o"})
	for _, n := range specPeers {
		c.propose(n, false, false)
	}
	c.deliver()
	c.tick(10 * time.Second) // closes for a..e; o has seen nothing
	c.deliver()
	clear(c.group)
	o.holdFuse = true
	first := c.nodes[ranked(c, specPeers)[0]]
	first.m.reannounce()
	c.process(first)
	c.deliver() // o fetches the record's contributions and fuses to verify
	if len(o.held) != 1 {
		t.Fatalf("observer holds %d fusions after the record arrived, want 1", len(o.held))
	}
	c.tick(11 * time.Second) // o's own close rule now holds
	c.deliver()
	if o.fuses != 1 {
		t.Fatalf("observer requested %d fusions, want 1 (the record's set is live)", o.fuses)
	}
	c.release(o)
	if h := o.m.Head(); h.Round != 1 || h.Weight != 5 {
		t.Fatalf("record not adopted: %+v", h)
	}
}

// At most one speculative fusion per parent runs: a set that grows while
// one runs is fused when it finishes, not before.
func TestSpeculationOnePerParent(t *testing.T) {
	c := specCluster(t, 4, "a", "b", "c", "d")
	o := c.nodes["o"]
	o.holdFuse = true
	c.tick(10 * time.Second)
	if len(o.held) != 1 || len(o.held[0].Inputs) != 4 {
		t.Fatalf("observer holds %d fusions at the close, want one of 4 inputs", len(o.held))
	}
	c.propose("e", false, false)
	c.deliverTo(o) // o's set grows to 5 (and the 4-set record arrives)
	if o.fuses != 1 {
		t.Fatalf("observer requested %d fusions while its speculative one ran, want 1", o.fuses)
	}
	c.release(o)
	if len(o.held) != 1 || len(o.held[0].Inputs) != 5 || o.fuses != 2 {
		t.Fatalf("after the first finished: %d held, %d requested; want the 5-set's fusion next", len(o.held), o.fuses)
	}
}

// A speculative fusion that fails naming a delta voids that contribution,
// as any failed fusion does, and the set without it is fused at once.
func TestSpeculationFailureVoidsInput(t *testing.T) {
	c := specCluster(t, 5, specPeers...)
	o := c.nodes["o"]
	o.holdFuse = true
	c.tick(10 * time.Second)
	if len(o.held) != 1 {
		t.Fatalf("observer holds %d fusions at the close, want 1", len(o.held))
	}
	job, bad := o.held[0], o.held[0].Inputs[0]
	o.held = nil
	err := &fuse.DeltaError{ID: bad.Delta.String(), Tensor: "body.w", Err: fuse.ErrMismatch}
	c.step(o, Fused{Key: job.Key, Err: fmt.Errorf("fuse round 1: %w", err)})
	c.process(o)
	if !hasLine(c.out.String(), "o: rejected cid="+short(bad.Contribution), "fusion: delta "+bad.Delta.String()) {
		t.Fatalf("no rejection of the contribution the fusion named:\n%s", c.out)
	}
	if len(o.held) != 1 || len(o.held[0].Inputs) != 4 || holds(o.held[0], bad.Delta) {
		t.Fatalf("after the failure: %d held; want one fusion of the 4 others", len(o.held))
	}
}
