package sim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/ipfs/go-cid"
)

// Result is what one run measured and checked.
type Result struct {
	Peers      int           // all peers, honest and Byzantine
	Rounds     uint64        // round of the agreed head
	SimTime    time.Duration // simulated time at the end
	Agreement  bool          // all honest peers that are up end on one head
	Violations []string      // broken invariants (empty when all hold)

	// Time from the first record of a round being built to every honest,
	// continuously present peer having adopted that round's final record.
	AgreeMean, AgreeMax time.Duration

	// Per honest peer per round.
	GossipPerPeer  float64 // distinct gossip messages received
	FetchesPerPeer float64 // block fetch requests
	KBPerPeer      float64 // gossip and fetched bytes received, KiB
	PublishPerPeer float64 // gossip messages published

	// Honest contributions: counted on the chain; stale (made on a base
	// that lost the fork choice, or on the other side of a partition from
	// the chain record's builder, when the heal came too late for the union
	// to win); late (made after its round's first record was built and not
	// merged in); lost (none of those, yet missing: a violation).
	Counted, Stale, Late, Lost int
	Stats
}

// Stats counts protocol events over all peers.
type Stats struct {
	Equivocations, Rejections int
}

type made struct {
	peer  int
	base  cid.Cid
	kind  kind
	round uint64
	at    time.Duration
	group int // partition side when made
}

type sim struct {
	cfg        Config
	rng        *rand.Rand
	now        time.Duration
	queue      eventHeap
	seq        uint64
	stop       bool
	genesis    []byte
	swarm      cid.Cid
	peers      []*speer
	group      []int
	deltas     map[cid.Cid]kind
	made       map[cid.Cid]made
	blocks     map[cid.Cid][]byte
	sigMemo    map[cid.Cid]bool
	holders    map[cid.Cid][]int32 // peers that stored a block
	firstBuilt map[uint64]time.Duration
	builtIn    map[cid.Cid]int // partition side of a record's first builder
	lastHead   time.Duration   // last honest head change, record built or contribution made
	lastEvent  time.Duration   // last scheduled disruption (heal, restart, join)
	training   int
	stats      Stats
}

var epoch0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (s *sim) epochTime() time.Time { return epoch0.Add(s.now) }

// Run simulates one swarm and checks its invariants.
func Run(cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	s, err := newSim(cfg)
	if err != nil {
		return Result{}, err
	}
	s.schedule()
	s.loop()
	return s.result(), nil
}

func newSim(cfg Config) (*sim, error) {
	g := wire.Genesis{Name: fmt.Sprintf("sim-%d", cfg.Seed), Model: "{}", Weights: rawCID("weights-0"), Params: cfg.Params}
	b, err := g.Encode()
	if err != nil {
		return nil, fmt.Errorf("sim: genesis: %w", err)
	}
	s := &sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x636f6c646e6f6465)), genesis: b, swarm: wire.CIDOf(b),
		deltas: map[cid.Cid]kind{}, made: map[cid.Cid]made{}, blocks: map[cid.Cid][]byte{},
		sigMemo: map[cid.Cid]bool{}, holders: map[cid.Cid][]int32{}, firstBuilt: map[uint64]time.Duration{}, builtIn: map[cid.Cid]int{}}
	s.makePeers()
	return s, nil
}

func (s *sim) makePeers() {
	b := s.cfg.Byzantine
	kinds := []struct {
		k kind
		n int
	}{{honest, s.cfg.N}, {equivocator, b.Equivocators}, {badDelta, b.BadDeltas}, {oversized, b.Oversized}, {withholder, b.Withholders}, {forger, b.Forgers}}
	for _, k := range kinds {
		for i := 0; i < k.n; i++ {
			idx := len(s.peers)
			sg := wire.SeededSigner(fmt.Sprintf("sim-%d-%d", s.cfg.Seed, idx))
			s.peers = append(s.peers, &speer{idx: idx, kind: k.k, id: sg.ID(), signer: sg,
				store: map[cid.Cid][]byte{}, seen: map[uint64]time.Duration{}})
		}
	}
	s.group = make([]int, len(s.peers))
	for i := 0; i < s.cfg.Late; i++ {
		s.peers[s.cfg.N-1-i].late = true
	}
	for i := 0; i < s.cfg.Crashes; i++ {
		s.peers[i].crashes = true
	}
}

// schedule sets up starts, disruptions and the global tick.
func (s *sim) schedule() {
	for _, p := range s.peers {
		if p.late {
			s.at(s.cfg.LateAt, func() { s.start(p) })
			s.lastEvent = max(s.lastEvent, s.cfg.LateAt)
		} else {
			s.start(p)
		}
	}
	if s.cfg.Crashes > 0 {
		s.at(s.cfg.CrashAt, func() { s.forCrashing(s.crash) })
		s.at(s.cfg.RestartAt, func() { s.forCrashing(s.start) })
		s.lastEvent = max(s.lastEvent, s.cfg.RestartAt)
	}
	if pt := s.cfg.Partition; pt != nil {
		s.at(pt.At, func() { s.split(pt.Fraction) })
		s.at(pt.Heal, func() { clear(s.group) })
		s.lastEvent = max(s.lastEvent, pt.Heal)
	}
	s.at(s.cfg.TickEvery, s.tick)
}

func (s *sim) forCrashing(f func(*speer)) {
	for _, p := range s.peers {
		if p.crashes {
			f(p)
		}
	}
}

func (s *sim) split(fraction float64) {
	cut := int(fraction * float64(len(s.peers)))
	for i := range s.group {
		if i >= cut {
			s.group[i] = 1
		}
	}
}

func (s *sim) tick() {
	for _, p := range s.peers {
		if p.up {
			p.m.Tick(s.epochTime())
			s.drain(p)
			s.maybeTrain(p)
		}
	}
	quiet := s.now-s.lastHead >= s.cfg.Settle && s.training == 0 && s.now >= s.lastEvent
	if quiet || s.now >= s.cfg.MaxTime {
		s.stop = true
		return
	}
	s.at(s.cfg.TickEvery, s.tick)
}

func sortedKeys(m map[cid.Cid][]byte) []cid.Cid {
	out := make([]cid.Cid, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return wire.CompareCID(out[i], out[j]) < 0 })
	return out
}
