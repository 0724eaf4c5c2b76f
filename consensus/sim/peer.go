package sim

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/coldnode/coldnode/consensus"
	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"
)

// kind is a simulated peer's behaviour.
type kind uint8

const (
	honest kind = iota
	equivocator
	badDelta
	oversized
	withholder
	forger
)

// speer is one simulated node: a Machine plus the node work around it.
type speer struct {
	idx     int
	kind    kind
	id      peer.ID
	signer  wire.Signer
	m       *consensus.Machine
	store   map[cid.Cid][]byte
	up      bool
	epoch   int // bumped by a crash; work started before it is dropped
	job     int // bumped when training restarts on a new head base
	late    bool
	crashes bool
	trained map[cid.Cid]bool
	seen    map[uint64]time.Duration
	heads   []headAt

	gossipIn, published, fetches int
	bytesIn                      int64
}

type headAt struct {
	at     time.Duration
	record cid.Cid
}

func rawCID(s string) cid.Cid {
	h, _ := multihash.Sum([]byte(s), multihash.SHA2_256, -1)
	return cid.NewCidV1(cid.Raw, h)
}

// start (or restart) the peer's Machine, replaying its store.
func (s *sim) start(p *speer) {
	cfg := consensus.DefaultConfig(s.genesis, p.signer)
	cfg.Seed, cfg.BuildSpread, cfg.VerifySig = uint64(p.idx), s.cfg.BuildSpread, s.verifySig
	cfg.AnnounceEvery, cfg.RetryEvery = s.cfg.AnnounceEvery, s.cfg.RetryEvery
	if s.now == 0 {
		cfg.JoinWait = 0 // founding peers: there is no head to wait for
	}
	m, err := consensus.New(cfg, s.epochTime())
	if err != nil {
		panic(fmt.Sprintf("sim: new machine: %v", err)) // the genesis was built by the simulator
	}
	p.m, p.up, p.trained = m, true, map[cid.Cid]bool{}
	for _, c := range sortedKeys(p.store) {
		_ = m.Step(consensus.Block{CID: c, Data: p.store[c]})
	}
	s.drain(p)
	s.maybeTrain(p)
}

func (s *sim) crash(p *speer) {
	p.up = false
	p.epoch++
}

// verifySig memoises signature checks across all simulated peers by block
// CID, which binds the signed content and the signature.
func (s *sim) verifySig(id cid.Cid, c *wire.Contribution) error {
	if ok, done := s.sigMemo[id]; done {
		if !ok {
			return wire.ErrSignature
		}
		return nil
	}
	err := c.Verify()
	s.sigMemo[id] = err == nil
	return err
}

// drain handles every Ready of p the way a node would.
func (s *sim) drain(p *speer) {
	for p.m.HasReady() {
		rd := p.m.Ready()
		p.m.Advance()
		s.handle(p, rd)
	}
}

func (s *sim) handle(p *speer, rd consensus.Ready) {
	for _, b := range rd.Persist {
		s.hold(p, b.CID, b.Data)
	}
	for _, msg := range rd.Messages {
		s.publish(p, msg, nil)
	}
	for _, c := range rd.Fetch {
		s.fetch(p, c)
	}
	for _, ch := range rd.Check {
		s.check(p, ch)
	}
	for _, job := range rd.Fuse {
		s.fuse(p, job)
	}
	for _, e := range rd.Events {
		s.onEvent(p, e)
	}
}

func (s *sim) check(p *speer, ch consensus.Check) {
	epoch := p.epoch
	s.at(s.cfg.CheckTime, func() {
		if !p.up || p.epoch != epoch {
			return
		}
		r := consensus.Checked{Contribution: ch.Contribution}
		switch s.deltas[ch.Delta] {
		case badDelta:
			r.Err = errors.New("delta norm above the bound")
		case oversized:
			r.Err = errors.New("delta larger than MaxDelta")
		case withholder:
			r.Unavailable = true
		}
		_ = p.m.Step(r)
		s.drain(p)
	})
}

// ModelFuse is the simulated fusion: the CID of a hash of the base, the
// rule and the sorted inputs' deltas and example counts.
func ModelFuse(job consensus.FuseJob) cid.Cid {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s", job.Base, job.Rule)
	for _, in := range job.Inputs {
		fmt.Fprintf(h, "|%s:%d", in.Delta, in.Examples)
	}
	return rawCID(fmt.Sprintf("fused-%x", h.Sum(nil)))
}

func (s *sim) fuse(p *speer, job consensus.FuseJob) {
	epoch := p.epoch
	s.at(s.cfg.FuseTime, func() {
		if !p.up || p.epoch != epoch {
			return
		}
		_ = p.m.Step(consensus.Fused{Key: job.Key, Fused: ModelFuse(job)})
		s.drain(p)
	})
}

func (s *sim) onEvent(p *speer, e consensus.Event) {
	switch e := e.(type) {
	case consensus.HeadChanged:
		p.heads = append(p.heads, headAt{at: s.now, record: e.Record})
		if p.kind == honest {
			s.lastHead = s.now
		}
		s.maybeTrain(p)
	case consensus.Built:
		s.lastHead = max(s.lastHead, s.now)
		if _, ok := s.builtIn[e.Record]; !ok {
			s.builtIn[e.Record] = s.group[p.idx]
		}
		if t, ok := s.firstBuilt[e.Round]; !ok || s.now < t {
			s.firstBuilt[e.Round] = s.now
		}
	case consensus.Proposed:
		s.lastHead = max(s.lastHead, s.now)
		s.made[e.Contribution] = made{peer: p.idx, base: e.Base, kind: p.kind, round: e.Round, at: s.now, group: s.group[p.idx]}
	case consensus.Equivocation:
		s.stats.Equivocations++
	case consensus.Rejected:
		s.stats.Rejections++
	}
}

// maybeTrain starts training on the head's base if the peer has not yet.
func (s *sim) maybeTrain(p *speer) {
	h := p.m.Head()
	if !p.up || h.Round >= uint64(s.cfg.Rounds) || p.trained[h.Base] || !p.m.Synced() {
		return
	}
	p.trained[h.Base] = true
	d := float64(s.cfg.TrainTime) * (1 + s.cfg.TrainJitter*(2*s.rng.Float64()-1))
	p.job++ // a new head base abandons the training in progress
	epoch, job := p.epoch, p.job
	s.training++
	s.at(time.Duration(d), func() {
		s.training--
		if p.up && p.epoch == epoch && p.job == job {
			s.contribute(p, h)
		}
	})
}

func (s *sim) contribute(p *speer, h consensus.Head) {
	delta := rawCID(fmt.Sprintf("delta/%d/%s", p.idx, h.Base))
	s.deltas[delta] = p.kind
	if p.kind == equivocator {
		s.equivocate(p, h)
		return
	}
	err := p.m.Step(consensus.Propose{Base: h.Base, Delta: delta, Task: "sim", Examples: uint64(1000 + p.idx)})
	if err != nil && !errors.Is(err, consensus.ErrAlreadyProposed) {
		panic(fmt.Sprintf("sim: peer %d propose: %v", p.idx, err))
	}
	s.drain(p)
	if p.kind == forger {
		s.forge(p, h)
	}
}
