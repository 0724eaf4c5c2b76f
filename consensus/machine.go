package consensus

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Errors returned by Step; match them with errors.Is.
var (
	// ErrRejected: the input from a peer is invalid (the node may penalise
	// the sender; a gossip validator may return Reject).
	ErrRejected = errors.New("consensus: rejected")
	// ErrUnknownBase: Propose named a base that is not a known valid base.
	ErrUnknownBase = errors.New("consensus: unknown base")
	// ErrAlreadyProposed: this peer already signed a contribution on the
	// base; signing another would be equivocation.
	ErrAlreadyProposed = errors.New("consensus: already proposed on this base")
	// ErrNoSigner: Propose on an observer machine.
	ErrNoSigner = errors.New("consensus: no signer configured")
)

// Machine is the round protocol of one peer: a pure state machine fed with
// Step and Tick, read with Ready and acknowledged with Advance. It is not
// safe for concurrent use; one goroutine owns it.
type Machine struct {
	cfg    Config
	gen    *wire.Genesis
	swarm  cid.Cid
	self   peer.ID
	verify func(cid.Cid, *wire.Contribution) error
	now    time.Time

	contribs map[cid.Cid]*contrib
	onBase   map[cid.Cid][]cid.Cid // base -> contributions on it, arrival order
	firstBy  map[peerBase]cid.Cid
	equiv    map[peerBase]bool
	banned   map[peer.ID]bool
	mine     map[cid.Cid]cid.Cid // base -> own contribution
	myBlocks map[cid.Cid][]byte
	nudged   map[cid.Cid]time.Time // own contribution -> last re-announcement for a record without it

	records  map[cid.Cid]*record
	children map[cid.Cid][]cid.Cid // parent -> records on it
	refs     map[cid.Cid][]cid.Cid // contribution -> records listing it
	bases    map[cid.Cid]baseInfo  // valid base -> round it ends and record
	byKey    map[string][]cid.Cid  // fuse key -> records with that key
	fusions  map[string]*fusion
	wanted   map[cid.Cid]time.Time // block -> last request
	maxRound uint64                // highest round of a record linked to the genesis

	head, final           cid.Cid
	headRound, finalRound uint64
	headWeight            int
	opened, quorumAt      map[cid.Cid]time.Time
	since                 map[cid.Cid]candidate
	spec                  map[cid.Cid]string // parent -> key of its latest speculative fusion
	lastAnnounce, started time.Time
	dirty, deferred       map[cid.Cid]bool
	considerDirty         bool
	aliveMemo             map[cid.Cid]bool // fork-choice liveness, valid until headDirty
	parentList            []cid.Cid        // parents(), valid until headDirty
	unavailable           map[cid.Cid]bool // contributions whose delta could not be fetched
	checkingN, okN        map[cid.Cid]int  // per base: checks outstanding, contributions checked OK
	tasks                 map[string]string
	headDirty             bool
	rd, taken             Ready // pending work; what the last Ready returned
}

type peerBase struct {
	peer peer.ID
	base cid.Cid
}

type baseInfo struct {
	round  uint64 // the round whose record produced this base (0: genesis)
	record cid.Cid
	base   cid.Cid // the base itself, shared by every contribution on it
}

type candidate struct {
	key   string
	since time.Time     // when this peer's set on the parent last changed
	wait  time.Duration // build backoff for that set
}

// New returns a Machine at the genesis. now is the current time of the
// node's clock; later times arrive through Tick.
func New(cfg Config, now time.Time) (*Machine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	gen, err := wire.DecodeGenesis(cfg.Genesis)
	if err != nil {
		return nil, fmt.Errorf("consensus: %w", err)
	}
	m := &Machine{cfg: cfg, gen: gen, swarm: wire.CIDOf(cfg.Genesis), now: now, verify: cfg.VerifySig}
	if m.verify == nil {
		m.verify = func(_ cid.Cid, c *wire.Contribution) error { return c.Verify() }
	}
	if cfg.Signer != nil {
		m.self = cfg.Signer.ID()
	}
	m.initMaps()
	m.head, m.final = m.swarm, m.swarm
	m.bases[gen.Weights] = baseInfo{round: 0, record: m.swarm, base: gen.Weights}
	m.opened[m.swarm] = now
	m.lastAnnounce, m.started = now, now
	return m, nil
}

func (m *Machine) initMaps() {
	m.contribs, m.onBase = map[cid.Cid]*contrib{}, map[cid.Cid][]cid.Cid{}
	m.firstBy, m.equiv, m.banned = map[peerBase]cid.Cid{}, map[peerBase]bool{}, map[peer.ID]bool{}
	m.mine, m.myBlocks, m.nudged = map[cid.Cid]cid.Cid{}, map[cid.Cid][]byte{}, map[cid.Cid]time.Time{}
	m.records, m.children, m.refs = map[cid.Cid]*record{}, map[cid.Cid][]cid.Cid{}, map[cid.Cid][]cid.Cid{}
	m.bases, m.byKey, m.fusions = map[cid.Cid]baseInfo{}, map[string][]cid.Cid{}, map[string]*fusion{}
	m.wanted, m.opened, m.quorumAt = map[cid.Cid]time.Time{}, map[cid.Cid]time.Time{}, map[cid.Cid]time.Time{}
	m.since, m.dirty, m.deferred = map[cid.Cid]candidate{}, map[cid.Cid]bool{}, map[cid.Cid]bool{}
	m.spec = map[cid.Cid]string{}
	m.checkingN, m.okN, m.tasks = map[cid.Cid]int{}, map[cid.Cid]int{}, map[string]string{}
	m.aliveMemo, m.unavailable = map[cid.Cid]bool{}, map[cid.Cid]bool{}
}

// Swarm returns the swarm ID (the genesis CID).
func (m *Machine) Swarm() cid.Cid { return m.swarm }

// Genesis returns the decoded genesis.
func (m *Machine) Genesis() *wire.Genesis { return m.gen }

// Head describes the current fork-choice head.
type Head struct {
	Record     cid.Cid // the swarm ID while no record is valid
	Round      uint64
	Base       cid.Cid // file to train the next contribution on
	Weight     int     // valid contributions on the chain
	Final      cid.Cid
	FinalRound uint64
}

// Head returns the current head. Train on Head().Base and Propose on it.
func (m *Machine) Head() Head {
	return Head{Record: m.head, Round: m.headRound, Base: m.baseOf(m.head), Weight: m.headWeight,
		Final: m.final, FinalRound: m.finalRound}
}

// Synced reports whether the local peer should start training on
// Head().Base: no linked record above the head that arrived less than two
// RetryEvery periods ago is still being verified, and either a record is the head or
// JoinWait has passed since New (a restarted or late peer learns the head
// from re-announcements).
func (m *Machine) Synced() bool {
	for _, rs := range m.records {
		if rs.linked && rs.status == pending && rs.r.Round > m.headRound && m.now.Sub(rs.arrived) < 2*m.cfg.RetryEvery {
			return false
		}
	}
	return !m.head.Equals(m.swarm) || !m.now.Before(m.started.Add(m.cfg.JoinWait))
}

// Step feeds one message. A non-nil error wrapping ErrRejected means the
// message was invalid; other errors are misuse by the caller. Either way the
// Machine stays consistent.
func (m *Machine) Step(msg Message) error {
	var err error
	switch msg := msg.(type) {
	case Gossip:
		err = m.onGossip(msg)
	case Block:
		err = m.onBlock(msg)
	case Checked:
		err = m.onChecked(msg)
	case Fused:
		err = m.onFused(msg)
	case Propose:
		err = m.propose(msg)
	default:
		err = fmt.Errorf("consensus: unknown message type %T", msg)
	}
	m.settle()
	return err
}

// Tick tells the Machine the time: it closes rounds, retries fetches and
// checks, and re-announces the head. Call it about once a second.
func (m *Machine) Tick(now time.Time) {
	if now.After(m.now) {
		m.now = now
	}
	m.retry()
	m.considerDirty = true
	if !m.now.Before(m.lastAnnounce.Add(m.cfg.AnnounceEvery)) {
		m.reannounce()
	}
	m.settle()
}

// HasReady reports whether Ready has work.
func (m *Machine) HasReady() bool { return !m.rd.Empty() }

// Ready returns the pending work. Work added by Steps before Advance is
// kept for the next Ready.
func (m *Machine) Ready() Ready {
	m.taken = m.rd
	return m.rd
}

// Advance acknowledges the last Ready: all of it was handled (persisted,
// published, started).
func (m *Machine) Advance() {
	t := m.taken
	m.rd = Ready{
		Persist: m.rd.Persist[len(t.Persist):], Messages: m.rd.Messages[len(t.Messages):],
		Fetch: m.rd.Fetch[len(t.Fetch):], Check: m.rd.Check[len(t.Check):],
		Fuse: m.rd.Fuse[len(t.Fuse):], Events: m.rd.Events[len(t.Events):],
	}
	m.taken = Ready{}
}

func (m *Machine) event(e Event) { m.rd.Events = append(m.rd.Events, e) }

func (m *Machine) publish(kind wire.Kind, block []byte) {
	m.rd.Messages = append(m.rd.Messages, announce(m.swarm, kind, block))
}

// announceCID publishes a block by CID only; receivers fetch it.
func (m *Machine) announceCID(kind wire.Kind, c cid.Cid) {
	a := wire.Announcement{Swarm: m.swarm, Kind: kind, CID: c}
	b, err := a.Encode()
	if err != nil {
		panic(fmt.Sprintf("consensus: announcement of %s: %v", c, err)) // c is a known dag-cbor block
	}
	m.rd.Messages = append(m.rd.Messages, b)
}

func (m *Machine) persist(c cid.Cid, block []byte) {
	m.rd.Persist = append(m.rd.Persist, Block{CID: c, Data: block})
}

// want asks for a block once; retry asks again after RetryEvery.
func (m *Machine) want(c cid.Cid) {
	if _, ok := m.wanted[c]; ok {
		return
	}
	m.wanted[c] = m.now
	m.rd.Fetch = append(m.rd.Fetch, c)
}

func (m *Machine) retry() {
	var again []cid.Cid
	for c, at := range m.wanted {
		if !m.now.Before(at.Add(m.cfg.RetryEvery)) {
			again = append(again, c)
		}
	}
	sortCIDs(again)
	for _, c := range again {
		m.wanted[c] = m.now
		m.rd.Fetch = append(m.rd.Fetch, c)
	}
	m.retryChecks()
}

// reannounce republishes the head record and this peer's contributions
// that are still open, for peers that joined late or lost messages.
func (m *Machine) reannounce() {
	m.lastAnnounce = m.now
	if rs := m.records[m.head]; rs != nil {
		m.publish(wire.KindRecord, rs.encode())
	}
	var open []cid.Cid
	for c, block := range m.myBlocks {
		if cs := m.contribs[c]; cs != nil && cs.c.Round >= m.headRound && block != nil {
			open = append(open, c)
		}
	}
	sortCIDs(open)
	for _, c := range open {
		m.publish(wire.KindContribution, m.myBlocks[c])
	}
}

func (m *Machine) onGossip(g Gossip) error {
	a, err := wire.DecodeAnnouncement(g.Payload)
	if err != nil {
		return fmt.Errorf("%w: gossip from %s: %v", ErrRejected, g.From, err)
	}
	if !a.Swarm.Equals(m.swarm) {
		return fmt.Errorf("%w: gossip from %s for swarm %s, this is %s", ErrRejected, g.From, a.Swarm, m.swarm)
	}
	if a.Block == nil {
		if !m.known(a.CID) {
			m.want(a.CID)
		}
		return nil
	}
	return m.addBlock(a.CID, a.Block, a.Kind, g.From)
}

func (m *Machine) onBlock(b Block) error {
	if err := wire.CheckCID(b.CID, b.Data); err != nil {
		return fmt.Errorf("%w: fetched block: %v", ErrRejected, err)
	}
	delete(m.wanted, b.CID)
	if b.CID.Equals(m.swarm) {
		return nil // the genesis, replayed from a store
	}
	kind, err := wire.KindOf(b.Data)
	if err != nil {
		return fmt.Errorf("%w: block %s: %v", ErrRejected, b.CID, err)
	}
	return m.addBlock(b.CID, b.Data, kind, "")
}

func (m *Machine) known(c cid.Cid) bool {
	return m.contribs[c] != nil || m.records[c] != nil
}

func (m *Machine) addBlock(c cid.Cid, block []byte, kind wire.Kind, from peer.ID) error {
	delete(m.wanted, c)
	if m.known(c) {
		return nil
	}
	if kind == wire.KindRecord {
		return m.addRecord(c, block, from)
	}
	return m.addContribution(c, block, from)
}

func (m *Machine) reject(c cid.Cid, from peer.ID, reason string) error {
	m.event(Rejected{CID: c, From: from, Cause: CauseInvalid, Reason: reason})
	return fmt.Errorf("%w: %s: %s", ErrRejected, c, reason)
}

func (m *Machine) baseOf(rec cid.Cid) cid.Cid {
	if rec.Equals(m.swarm) {
		return m.gen.Weights
	}
	return m.records[rec].r.Fused
}

func (m *Machine) weightOf(rec cid.Cid) int {
	if rs := m.records[rec]; rs != nil {
		return rs.weight
	}
	return 0
}

func (m *Machine) roundOf(rec cid.Cid) uint64 {
	if rs := m.records[rec]; rs != nil {
		return rs.r.Round
	}
	return 0
}

func sortCIDs(l []cid.Cid) {
	sort.Slice(l, func(i, j int) bool { return wire.CompareCID(l[i], l[j]) < 0 })
}
