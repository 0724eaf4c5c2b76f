package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/coldnode/coldnode/consensus"
	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

func (s *sim) result() Result {
	r := Result{Peers: len(s.peers), SimTime: s.now, Stats: s.stats}
	head, agree := s.agreedHead()
	r.Agreement = agree
	if !agree {
		r.Violations = append(r.Violations, "agreement: honest peers that are up end on different heads")
	}
	chain, err := s.chain(head)
	if err != nil {
		r.Violations = append(r.Violations, err.Error())
	}
	r.Rounds = uint64(len(chain))
	if r.Rounds < uint64(s.cfg.Rounds) {
		r.Violations = append(r.Violations, fmt.Sprintf("liveness: chain reached round %d of %d", r.Rounds, s.cfg.Rounds))
	}
	for _, rec := range chain {
		r.Violations = append(r.Violations, s.validity(rec)...)
	}
	s.lossAndStale(chain, &r)
	s.agreementTimes(chain, &r)
	s.traffic(&r)
	return r
}

// agreedHead returns the most common head among honest peers that are up
// and whether they all share it.
func (s *sim) agreedHead() (cid.Cid, bool) {
	count := map[cid.Cid]int{}
	var best cid.Cid
	for _, p := range s.peers {
		if p.kind == honest && p.up {
			h := p.m.Head().Record
			count[h]++
			if count[h] > count[best] || (count[h] == count[best] && wire.CompareCID(h, best) < 0) {
				best = h
			}
		}
	}
	return best, len(count) == 1
}

// chain returns the records from round 1 to head.
func (s *sim) chain(head cid.Cid) ([]*wire.Record, error) {
	var out []*wire.Record
	for id := head; id.Defined() && !id.Equals(s.swarm); {
		rec, err := wire.DecodeRecord(s.blocks[id])
		if err != nil {
			return nil, fmt.Errorf("chain: record %s: %w", id, err)
		}
		out = append(out, rec)
		id = rec.Parent
	}
	slices.Reverse(out)
	return out, nil
}

// validity checks one agreed record against the simulator's ground truth.
func (s *sim) validity(rec *wire.Record) []string {
	var bad []string
	job := consensus.FuseJob{Base: rec.Base, Rule: s.cfg.Params.Rule}
	peers := map[peer.ID]bool{}
	for _, id := range rec.Contributions {
		c, err := wire.DecodeContribution(s.blocks[id])
		if err == nil {
			err = c.Verify()
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("validity: round %d counts unverifiable contribution %s: %v", rec.Round, id, err))
			continue
		}
		m := s.made[id]
		switch {
		case m.kind == equivocator || m.kind == badDelta || m.kind == oversized || m.kind == withholder:
			bad = append(bad, fmt.Sprintf("validity: round %d counts an invalid contribution (behaviour %d) %s", rec.Round, m.kind, id))
		case peers[c.Peer]:
			bad = append(bad, fmt.Sprintf("validity: round %d counts two contributions of %s", rec.Round, c.Peer))
		case c.Round != rec.Round || !c.Base.Equals(rec.Base):
			bad = append(bad, fmt.Sprintf("validity: round %d counts a contribution of another round", rec.Round))
		}
		peers[c.Peer] = true
		job.Inputs = append(job.Inputs, consensus.Input{Contribution: id, Peer: c.Peer, Delta: c.Delta, Examples: c.Examples})
	}
	if !ModelFuse(job).Equals(rec.Fused) {
		bad = append(bad, fmt.Sprintf("validity: round %d fused CID is not the fusion of its inputs", rec.Round))
	}
	return bad
}

// lossAndStale classifies every honest contribution: counted on the chain,
// missing from the record of its (chain) base, or made on a lost base.
func (s *sim) lossAndStale(chain []*wire.Record, r *Result) {
	in := map[cid.Cid]bool{}
	onChain := map[cid.Cid]int{} // base -> partition side of its record's builder
	for _, rec := range chain {
		onChain[rec.Base] = s.builtIn[s.recordID(rec)]
		for _, c := range rec.Contributions {
			in[c] = true
		}
	}
	for id, m := range s.made {
		side, chained := onChain[m.base]
		switch {
		case m.kind != honest && m.kind != forger:
		case in[id]:
			r.Counted++
		case !chained || side != m.group:
			r.Stale++
		case m.at > s.builtAt(m.round):
			r.Late++
		default:
			r.Lost++
		}
	}
	if r.Lost > 0 {
		r.Violations = append(r.Violations, fmt.Sprintf("nothing lost: %d valid contributions on chain bases are missing from their records", r.Lost))
	}
}

// agreementTimes measures, per round, the time from the first record of
// the round being built to the last continuously present honest peer
// moving for good onto a head whose chain holds that round's final record.
func (s *sim) agreementTimes(chain []*wire.Record, r *Result) {
	final := make([]cid.Cid, len(chain))
	for i, rec := range chain {
		final[i] = s.recordID(rec)
	}
	anc := map[cid.Cid][]cid.Cid{}
	var total time.Duration
	for i := range chain {
		built, ok := s.firstBuilt[uint64(i+1)]
		if !ok {
			continue
		}
		agreed := max(s.adopted(i, final, anc)-built, 0)
		total += agreed
		r.AgreeMax = max(r.AgreeMax, agreed)
	}
	if len(chain) > 0 {
		r.AgreeMean = total / time.Duration(len(chain))
	}
}

func (s *sim) recordID(rec *wire.Record) cid.Cid {
	b, _ := rec.Encode()
	return wire.CIDOf(b)
}

// ancestry lists a record's chain from round 1 (memoised in anc).
func (s *sim) ancestry(id cid.Cid, anc map[cid.Cid][]cid.Cid) []cid.Cid {
	if l, ok := anc[id]; ok || id.Equals(s.swarm) {
		return l
	}
	rec, err := wire.DecodeRecord(s.blocks[id])
	if err != nil {
		return nil
	}
	l := append(slices.Clone(s.ancestry(rec.Parent, anc)), id)
	anc[id] = l
	return l
}

// adopted is the latest time at which a continuously present honest peer
// moved for good onto a head whose chain holds final[i].
func (s *sim) adopted(i int, final []cid.Cid, anc map[cid.Cid][]cid.Cid) time.Duration {
	var last time.Duration
	for _, p := range s.peers {
		if p.kind != honest || p.late || p.crashes || !p.up {
			continue
		}
		var since time.Duration = -1
		for _, h := range p.heads {
			l := s.ancestry(h.record, anc)
			if len(l) > i && l[i].Equals(final[i]) {
				if since < 0 {
					since = h.at
				}
			} else {
				since = -1
			}
		}
		last = max(last, since)
	}
	return last
}
func (s *sim) traffic(r *Result) {
	var n, gossip, fetches, pub float64
	var bytes int64
	for _, p := range s.peers {
		if p.kind == honest {
			n++
			gossip += float64(p.gossipIn)
			fetches += float64(p.fetches)
			pub += float64(p.published)
			bytes += p.bytesIn
		}
	}
	per := n * float64(max(r.Rounds, 1))
	r.GossipPerPeer, r.FetchesPerPeer, r.PublishPerPeer = gossip/per, fetches/per, pub/per
	r.KBPerPeer = float64(bytes) / 1024 / per
}

func (s *sim) builtAt(round uint64) time.Duration {
	if t, ok := s.firstBuilt[round]; ok {
		return t
	}
	return s.now
}
