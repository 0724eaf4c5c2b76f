package p2p

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/coldnode/coldnode/p2p/envelope"
)

// The guard's token bucket: a burst, then one message per 1/rate seconds;
// each throttled message costs FloodPenalty of application score, which
// decays to 1% in scoreDecayTime; the node's own messages are exempt.
// Penalize adds MisbehaviourPenalty per report, never for the node itself.
func TestGuardBucketAndPenalty(t *testing.T) {
	now := time.Unix(1000, 0)
	g := newGuard(GossipConfig{FloodRate: 2, FloodBurst: 3}, "self", func() time.Time { return now })
	for i := range 3 {
		if !g.allow("x") {
			t.Fatalf("message %d of the burst throttled", i)
		}
	}
	if g.allow("x") || g.allow("x") {
		t.Fatal("messages over the burst allowed")
	}
	if s := g.appScore("x"); s != 2*FloodPenalty {
		t.Fatalf("score after 2 throttled = %v, want %v", s, 2*FloodPenalty)
	}
	if !g.allow("y") {
		t.Fatal("another author throttled by x's flood")
	}
	now = now.Add(500 * time.Millisecond) // one token at 2/s
	if !g.allow("x") || g.allow("x") {
		t.Fatal("want exactly one message after 0.5 s at 2/s")
	}
	before := g.appScore("x")
	if before >= 2*FloodPenalty || before < 3*FloodPenalty {
		t.Fatalf("score %v after 3 throttled, 2 of them 0.5 s ago: want a little above %v", before, 3*FloodPenalty)
	}
	now = now.Add(scoreDecayTime)
	if s := g.appScore("x"); math.Abs(s-before*0.01) > 1e-9 {
		t.Fatalf("score after the decay time = %v, want 1%% of %v", s, before)
	}
	for range 1000 {
		if !g.allow("self") {
			t.Fatal("own message throttled")
		}
	}
	if off := newGuard(GossipConfig{}, "self", time.Now); !off.allow("x") || off.appScore("x") != 0 {
		t.Fatal("rate 0 must not limit")
	}
	g.penalize("z", 2)
	g.penalize("self", 5)
	if s := g.appScore("z"); s != 2*MisbehaviourPenalty || g.appScore("self") != 0 {
		t.Fatalf("after penalize(z, 2): score %v, want %v; self %v, want 0", s, 2*MisbehaviourPenalty, g.appScore("self"))
	}
}

// Idle authors are forgotten once many have been seen; throttled ones are
// remembered until their penalty has decayed.
func TestGuardForgetsIdleAuthors(t *testing.T) {
	now := time.Unix(1000, 0)
	g := newGuard(GossipConfig{FloodRate: 1, FloodBurst: 1}, "self", func() time.Time { return now })
	g.allow("flooder")
	g.allow("flooder")
	for i := range 3 * minTracked {
		g.allow(peer.ID(fmt.Sprint("author", i)))
		now = now.Add(10 * time.Millisecond)
	}
	if n := len(g.authors); n >= 2*minTracked {
		t.Fatalf("%d authors tracked after %d one-message authors, want pruning", n, 3*minTracked)
	}
	if g.appScore("flooder") >= 0 {
		t.Fatal("the throttled author was forgotten")
	}
}

// A raw libp2p host floods the topic with well-formed, correctly signed
// envelopes, in batches of 10 (pubsub's own validation queue holds 32 and
// drops the excess before any validator sees it; batching keeps every
// message countable). The node accepts no more than the author limit allows,
// ignores the rest (counted as throttled and reported with reason flood),
// the flooder's gossipsub score drops below the gossip threshold, and an
// honest peer's messages keep arriving in both directions.
func TestFloodingPeerIsThrottledAndScoredDown(t *testing.T) {
	const swarm, burst, rate, batches, batch = "s7", 20, 1.0, 15, 10
	full := TopicName(swarm, TopicHeads)
	limit := func(c *Config) { c.Gossip.FloodRate, c.Gossip.FloodBurst = rate, burst }
	var mu sync.Mutex
	reasons := map[string]int{}
	b := startNodeWith(t, limit, WithRejections(func(_ peer.ID, r string) { mu.Lock(); reasons[r]++; mu.Unlock() }))
	honest := newTestNode(t, limit)
	tb, _ := b.Join(swarm, TopicHeads, nil)
	th, _ := honest.Join(swarm, TopicHeads, nil)
	connectAll(t, b, honest)
	r := newRogue(t, full)
	r.connect(t, b)
	start := time.Now()
	for i := range batches {
		for j := range batch {
			env, err := envelope.Seal(r.key, swarm, full, []byte(fmt.Sprint("flood ", i, j)), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			r.send(t, env)
		}
		eventually(t, 10*time.Second, "the batch validated", func() bool {
			st := tb.Stats()
			return st.Accepted+st.Throttled >= uint64((i+1)*batch)
		})
	}
	elapsed := time.Since(start)
	st := tb.Stats()
	if max := burst + int(math.Ceil(rate*elapsed.Seconds())); st.Accepted > uint64(max) {
		t.Fatalf("accepted %d flood messages in %v, the limit allows %d", st.Accepted, elapsed, max)
	}
	if st.Accepted < burst || st.Throttled == 0 {
		t.Fatalf("stats %+v: want the burst of %d accepted and the rest throttled", st, burst)
	}
	mu.Lock()
	if reasons[ReasonFlood] != int(st.Throttled) || len(reasons) != 1 {
		t.Errorf("reported %v, topic counted %d throttled", reasons, st.Throttled)
	}
	mu.Unlock()
	eventually(t, 10*time.Second, "the flooder's score under the gossip threshold", func() bool {
		return b.scoreBelow(r.h.ID(), GossipThreshold)
	})
	s, _ := b.PeerScore(r.h.ID())
	t.Logf("%d flood messages in %v: %d accepted, %d throttled, flooder's score %.0f", batches*batch, elapsed, st.Accepted, st.Throttled, s)
	if s, ok := b.PeerScore(honest.ID()); !ok || s < 0 {
		t.Fatalf("honest peer's score %v (known %v), want >= 0", s, ok)
	}
	checkHonestGossip(t, tb, th)
}

// checkHonestGossip publishes from each side and expects the other to get it.
func checkHonestGossip(t *testing.T, a, b *Topic) {
	t.Helper()
	ctx := context.Background()
	if err := b.Publish(ctx, []byte("honest to a")); err != nil {
		t.Fatal(err)
	}
	if m := recvPayload(t, a.Messages(), []byte("honest to a"), 10*time.Second); m.Local {
		t.Fatal("got our own message back")
	}
	if err := a.Publish(ctx, []byte("honest to b")); err != nil {
		t.Fatal(err)
	}
	recvPayload(t, b.Messages(), []byte("honest to b"), 10*time.Second)
}

func (n *Node) scoreBelow(p peer.ID, threshold float64) bool {
	s, ok := n.PeerScore(p)
	return ok && s < threshold
}

func startNodeWith(t *testing.T, mod func(*Config), opts ...Option) *Node {
	t.Helper()
	cfg := testConfig()
	mod(&cfg)
	n, err := New(context.Background(), cfg, testKey(t), t.TempDir(), nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}
