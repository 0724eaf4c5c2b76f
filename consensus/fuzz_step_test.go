package consensus

import (
	"errors"
	"testing"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
)

// Step modes of FuzzStep: how the fuzzed bytes reach the Machine.
const (
	asPayload      = iota // the raw gossip payload
	asContribution        // the inline block of a contribution announcement
	asRecord              // the inline block of a record announcement
	asBlock               // a fetched block under its own CID
	asAnnounceOnly        // an announcement naming the bytes' CID without the block
	modes
)

// hostileSwarm is three honest peers that closed round 1 with a and b.
func hostileSwarm(t testing.TB) *cluster {
	c := newCluster(t, params(2, 2))
	for _, n := range []string{"a", "b", "c"} {
		c.add(n)
	}
	c.round("a", "b")
	if h := c.nodes["a"].m.Head(); h.Round != 1 || h.Weight != 2 || !c.agree() {
		c.t.Fatalf("setup: round 1 did not close on every peer:\n%s", c.heads())
	}
	return c
}

// hostilePayload wraps data as mode says; it is what peer "x" sends to a.
func hostilePayload(c *cluster, mode uint8, data []byte) Message {
	swarm := c.nodes["a"].m.swarm
	switch mode % modes {
	case asContribution:
		return Gossip{Payload: mustAnnounce(c.t, wire.Announcement{Swarm: swarm, Kind: wire.KindContribution, CID: wire.CIDOf(data), Block: data})}
	case asRecord:
		return Gossip{Payload: mustAnnounce(c.t, wire.Announcement{Swarm: swarm, Kind: wire.KindRecord, CID: wire.CIDOf(data), Block: data})}
	case asBlock:
		return Block{CID: wire.CIDOf(data), Data: data}
	case asAnnounceOnly:
		return Gossip{Payload: mustAnnounce(c.t, wire.Announcement{Swarm: swarm, Kind: wire.KindRecord, CID: wire.CIDOf(data)})}
	}
	return Gossip{Payload: data}
}

func mustAnnounce(t testing.TB, a wire.Announcement) []byte {
	if len(a.Block) > wire.MaxInlineBlock {
		a.Block = nil
	}
	b, err := a.Encode()
	if err != nil {
		t.Fatalf("encode announcement: %v", err)
	}
	return b
}

// FuzzStep feeds arbitrary bytes to a Machine of a live swarm as gossip or
// as a fetched block. Step must not panic, must answer nil or an error
// wrapping ErrRejected, must not revert what is final, and the swarm must
// still close the next round with the honest contributions.
// Seeds: valid contribution and record blocks of the setup swarm, plus
// testdata/fuzz/FuzzStep.
func FuzzStep(f *testing.F) {
	c := hostileSwarm(f)
	c.propose("c", false, false)
	for _, msg := range c.outbox {
		a, err := wire.DecodeAnnouncement(msg.payload)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(asPayload), msg.payload)
		f.Add(uint8(asContribution), a.Block)
		f.Add(uint8(asBlock), a.Block)
	}
	for _, b := range c.nodes["a"].store {
		f.Add(uint8(asRecord), b)
	}
	f.Add(uint8(asAnnounceOnly), []byte("missing"))
	f.Fuzz(func(t *testing.T, mode uint8, data []byte) {
		c := hostileSwarm(t)
		a := c.nodes["a"]
		before := a.m.Head()
		if err := a.m.Step(hostilePayload(c, mode, data)); err != nil && !errors.Is(err, ErrRejected) {
			t.Fatalf("Step answered a peer's bytes with a non-rejection error: %v", err)
		}
		c.process(a)
		checkRejections(t, a.m.Ready().Events)
		c.deliver()
		checkStillLive(t, c, before)
	})
}

func checkRejections(t *testing.T, events []Event) {
	t.Helper()
	for _, e := range events {
		if r, ok := e.(Rejected); ok && r.Reason == "" {
			t.Fatalf("rejection without a reason: %+v", r)
		}
	}
}

// checkStillLive runs an honest round 2 and checks it closes on every peer
// with both honest contributions, keeping round 1 on the chain.
func checkStillLive(t *testing.T, c *cluster, before Head) {
	t.Helper()
	c.round("b", "c")
	c.tick(time.Second)
	c.deliver()
	h := c.nodes["a"].m.Head()
	if h.FinalRound < before.FinalRound {
		t.Fatalf("final round went back from %d to %d", before.FinalRound, h.FinalRound)
	}
	if h.Round != 2 || h.Weight != before.Weight+2 || !c.agree() {
		t.Fatalf("honest round 2 did not close everywhere after hostile input (before %+v):\n%s", before, c.heads())
	}
}
