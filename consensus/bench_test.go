package consensus

import (
	"fmt"
	"testing"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
)

// BenchmarkGossipContribution measures one peer taking in a round of 256
// contributions from gossip (decode, verify, index, check request) and
// closing the round; compare with wire.BenchmarkVerifyBaseline x 256.
func BenchmarkGossipContribution(b *testing.B) {
	c := newCluster(b, params(128, 2))
	var payloads [][]byte
	for i := 0; i < 256; i++ {
		n := c.add(fmt.Sprintf("p%d", i))
		c.propose(n.name, false, false)
	}
	for _, m := range c.outbox {
		payloads = append(payloads, m.payload)
	}
	for b.Loop() {
		m, err := New(DefaultConfig(c.genesis, wire.SeededSigner("observer")), epoch)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range payloads {
			_ = m.Step(Gossip{Payload: p})
			for _, ch := range m.Ready().Check {
				_ = m.Step(Checked{Contribution: ch.Contribution})
			}
			m.Advance()
		}
		m.Tick(epoch.Add(time.Hour))
	}
}
