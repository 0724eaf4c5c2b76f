package sim

import (
	"fmt"

	"github.com/coldnode/coldnode/consensus"
	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/ipfs/go-cid"
)

// equivocate signs two deltas on one base and shows each to half the swarm.
func (s *sim) equivocate(p *speer, h consensus.Head) {
	for i := 0; i < 2; i++ {
		c := wire.Contribution{Swarm: s.swarm, Round: h.Round + 1, Base: h.Base,
			Delta: rawCID(fmt.Sprintf("delta/%d/%s/%d", p.idx, h.Base, i)), Task: "sim", Examples: 1}
		if err := c.Sign(p.signer); err != nil {
			panic(fmt.Sprintf("sim: sign: %v", err))
		}
		block, _ := c.Encode()
		id := wire.CIDOf(block)
		s.hold(p, id, block)
		s.made[id] = made{peer: p.idx, base: h.Base, kind: equivocator, round: h.Round + 1, at: s.now, group: s.group[p.idx]}
		half := i
		a := wire.Announce(s.swarm, wire.KindContribution, block)
		payload, _ := a.Encode()
		s.publish(p, payload, func(q *speer) bool { return q.idx%2 == half })
	}
}

// forge publishes a record on the head holding the forger's own fresh
// contribution and a fused CID that is not the fusion of it.
func (s *sim) forge(p *speer, h consensus.Head) {
	var own cid.Cid
	for c, m := range s.made {
		if m.peer == p.idx && m.base.Equals(h.Base) {
			own = c
		}
	}
	if !own.Defined() {
		return
	}
	r := wire.Record{Swarm: s.swarm, Round: h.Round + 1, Parent: h.Record, Base: h.Base,
		Contributions: []cid.Cid{own}, Fused: rawCID(fmt.Sprintf("forged/%d/%s", p.idx, h.Base))}
	block, err := r.Encode()
	if err != nil {
		panic(fmt.Sprintf("sim: forge: %v", err))
	}
	id := wire.CIDOf(block)
	s.hold(p, id, block)
	a := wire.Announce(s.swarm, wire.KindRecord, block)
	payload, _ := a.Encode()
	s.publish(p, payload, nil)
}
