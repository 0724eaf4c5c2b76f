package sim

import (
	"hash/fnv"
	"math"
	"time"

	"github.com/coldnode/coldnode/consensus"
	"github.com/ipfs/go-cid"
)

// seenTTL is how long a peer drops copies of a message it already has
// (gossipsub's seen cache is 2 minutes by default).
const seenTTL = 2 * time.Minute

func (s *sim) latency() time.Duration {
	return s.cfg.LatencyMin + time.Duration(s.rng.ExpFloat64()*float64(s.cfg.LatencyMean))
}

func (s *sim) lost() bool { return s.cfg.Loss > 0 && s.rng.Float64() < s.cfg.Loss }

func (s *sim) reachable(a, b *speer) bool {
	return a.up && b.up && s.group[a.idx] == s.group[b.idx]
}

func hash64(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

func (p *speer) hasSeen(h uint64, now time.Duration) bool {
	t, ok := p.seen[h]
	return ok && now-t < seenTTL
}

// publish broadcasts a payload from p to every reachable peer that wants it.
func (s *sim) publish(p *speer, payload []byte, to func(*speer) bool) {
	h := hash64(payload)
	p.seen[h] = s.now
	p.published++
	for _, q := range s.peers {
		if q == p || !s.reachable(p, q) || q.hasSeen(h, s.now) || (to != nil && !to(q)) || s.lost() {
			continue
		}
		s.at(s.latency(), func() { s.deliver(p, q, payload, h) })
	}
}

func (s *sim) deliver(from, q *speer, payload []byte, h uint64) {
	if !q.up || q.hasSeen(h, s.now) {
		return
	}
	q.seen[h] = s.now
	q.gossipIn++
	q.bytesIn += int64(len(payload))
	_ = q.m.Step(consensus.Gossip{From: from.id, Payload: payload})
	s.drain(q)
}

// fetch asks one random reachable holder of a block for it.
func (s *sim) fetch(p *speer, c cid.Cid) {
	var holders []*speer
	for _, i := range s.holders[c] {
		if q := s.peers[i]; q != p && s.reachable(p, q) && q.kind != withholder {
			holders = append(holders, q)
		}
	}
	p.fetches++
	if len(holders) == 0 || s.lost() {
		return // the Machine asks again after RetryEvery
	}
	data := s.blocks[c]
	_ = holders[s.rng.IntN(len(holders))]
	epoch := p.epoch
	s.at(s.latency()+s.latency(), func() {
		if !p.up || p.epoch != epoch {
			return
		}
		p.bytesIn += int64(len(data))
		_ = p.m.Step(consensus.Block{CID: c, Data: data})
		s.drain(p)
	})
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var t float64
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

// hold records that p stored a block. Only peers that will restart keep
// their own copy; the others are found through holders, which keeps a
// 1000-peer run in memory.
func (s *sim) hold(p *speer, c cid.Cid, data []byte) {
	if _, ok := s.blocks[c]; !ok {
		s.blocks[c] = data
	}
	if p.crashes {
		if _, ok := p.store[c]; ok {
			return
		}
		p.store[c] = data
	}
	if l := s.holders[c]; len(l) == 0 || l[len(l)-1] != int32(p.idx) {
		s.holders[c] = append(l, int32(p.idx))
	}
}
