package consensus

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	fuse "github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// status is where a record's verification stands.
type status uint8

const (
	pending status = iota
	valid
	invalid
)

type record struct {
	id      cid.Cid
	r       *wire.Record
	from    peer.ID
	status  status
	key     string           // fuse key of (parent, contributions)
	weight  int              // valid contributions on the chain up to and including this record
	linked  bool             // every ancestor is known, back to the genesis
	trusted bool             // accepted without delta checks and fusion (spot-check mode)
	next    int              // contributions[:next] are verified
	peers   map[peer.ID]bool // peers of contributions[:next]
	arrived time.Time        // when this peer first saw it
}

// fusion is one FuseJob in flight or done.
type fusion struct {
	job    FuseJob
	parent cid.Cid
	build  bool    // build and publish a record when it completes
	result cid.Cid // set when done
	err    string
}

// running reports whether the fusion was requested and has not answered.
func (f *fusion) running() bool { return !f.result.Defined() && f.err == "" }

// fuseKey names the fusion of a contribution set on a parent.
func fuseKey(parent cid.Cid, set []cid.Cid) string {
	h := sha256.New()
	h.Write(parent.Bytes())
	for _, c := range set {
		h.Write(binary.AppendUvarint(nil, uint64(len(c.Bytes()))))
		h.Write(c.Bytes())
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func (m *Machine) addRecord(id cid.Cid, block []byte, from peer.ID) error {
	r, err := wire.DecodeRecord(block)
	if err != nil {
		return m.reject(id, from, err.Error())
	}
	if !r.Swarm.Equals(m.swarm) {
		return m.reject(id, from, "record for another swarm")
	}
	if r.Round <= m.finalRound || (r.Round == m.finalRound+1 && !r.Parent.Equals(m.final)) {
		m.event(Rejected{CID: id, From: from, Cause: CauseConflict, Reason: fmt.Sprintf("round %d conflicts with the final record of round %d", r.Round, m.finalRound)})
		return nil
	}
	rs := &record{id: id, arrived: m.now, r: r, from: from, key: fuseKey(r.Parent, r.Contributions)}
	m.records[id] = rs
	m.persist(id, block)
	m.children[r.Parent] = append(m.children[r.Parent], id)
	for _, c := range r.Contributions {
		m.refs[c] = append(m.refs[c], id)
	}
	m.byKey[rs.key] = append(m.byKey[rs.key], id)
	m.nudge(r)
	m.link(id)
	m.dirty[id] = true
	m.considerDirty = true
	return nil
}

// nudge re-announces the local peer's contribution of r's round when r
// leaves it out: its builder missed the announcement, and the peer that
// builds the next union should not. Only the owner re-announces (it holds
// the signed block, and one sender per contribution needs no suppression);
// at most once per BuildSpread (and second), so a burst of records or a
// forger cannot make it flood.
func (m *Machine) nudge(r *wire.Record) {
	own, ok := m.mine[r.Base]
	cs, block := m.contribs[own], m.myBlocks[own]
	if !ok || block == nil || cs == nil || cs.c == nil || cs.c.Round != r.Round {
		return
	}
	i := sort.Search(len(r.Contributions), func(i int) bool { return wire.CompareCID(r.Contributions[i], own) >= 0 })
	if i < len(r.Contributions) && r.Contributions[i].Equals(own) {
		return
	}
	if last, ok := m.nudged[own]; ok && m.now.Sub(last) < max(m.cfg.BuildSpread, time.Second) {
		return
	}
	m.nudged[own] = m.now
	m.publish(wire.KindContribution, block)
}

// link marks id linked if its parent is, and passes that on to children.
func (m *Machine) link(id cid.Cid) {
	rs := m.records[id]
	p := rs.r.Parent
	if !p.Equals(m.swarm) && (m.records[p] == nil || !m.records[p].linked) {
		if m.records[p] == nil {
			m.want(p)
		}
		return
	}
	rs.linked = true
	if rs.r.Round > m.maxRound {
		m.maxRound = rs.r.Round
	}
	for _, ch := range m.children[id] {
		m.link(ch)
	}
}

// settle re-evaluates dirty records until nothing changes, then runs the
// fork choice and the close rule.
func (m *Machine) settle() {
	for i := 0; i == 0 || len(m.dirty) > 0; i++ {
		m.evalDirty()
		m.chooseHead()
		m.consider()
	}
}

func (m *Machine) evalDirty() {
	for len(m.dirty) > 0 {
		ids := make([]cid.Cid, 0, len(m.dirty))
		for id := range m.dirty {
			ids = append(ids, id)
		}
		sortCIDs(ids)
		clear(m.dirty)
		for _, id := range ids {
			m.evalRecord(id)
		}
	}
}

// evalRecord moves a pending record towards valid or invalid.
func (m *Machine) evalRecord(id cid.Cid) {
	rs := m.records[id]
	if rs == nil || rs.status != pending || !rs.linked {
		return
	}
	if reason, ok := m.checkParent(rs); !ok {
		if reason != "" {
			m.invalidate(id, reason)
		}
		return
	}
	rs.trusted = m.trust(id, rs)
	if reason, ready := m.checkContributions(rs); reason != "" {
		m.invalidate(id, reason)
		return
	} else if !ready {
		return
	}
	if rs.trusted {
		m.validate(id, rs)
		return
	}
	m.checkFused(id, rs)
}

// checkParent: ok with "" means the parent is valid and consistent; not ok
// with "" means wait; a reason means invalid.
func (m *Machine) checkParent(rs *record) (string, bool) {
	r := rs.r
	if r.Parent.Equals(m.swarm) {
		if r.Round != 1 || !r.Base.Equals(m.gen.Weights) {
			return "a round-1 record must have round 1 and the genesis weights as base", false
		}
		return "", true
	}
	p := m.records[r.Parent]
	switch {
	case p == nil || p.status == pending:
		return "", false
	case p.status == invalid:
		return "parent record is invalid", false
	case r.Round != p.r.Round+1:
		return fmt.Sprintf("round %d does not follow parent round %d", r.Round, p.r.Round), false
	case !r.Base.Equals(p.r.Fused):
		return "base is not the parent's fused file", false
	}
	return "", true
}

// trust decides spot-check mode: deep records are fully verified only with
// probability 1/SpotCheck, chosen by a hash of the local seed and the CID.
func (m *Machine) trust(id cid.Cid, rs *record) bool {
	k := uint64(m.cfg.SpotCheck)
	if k == 0 || rs.r.Round+uint64(m.gen.Params.Finality) > m.maxRound {
		return false
	}
	h := sha256.Sum256(append(binary.BigEndian.AppendUint64(nil, m.cfg.Seed), id.Bytes()...))
	return binary.BigEndian.Uint64(h[:8])%k != 0
}

// checkContributions verifies the listed contributions in order,
// resuming after the prefix already verified (rs.next), so a record of n
// contributions costs O(n) over all its check results, not O(n) per
// result. The first pass requests every missing block and check at once.
// It returns a reason if one is void or inconsistent, and ready once all
// are verified.
func (m *Machine) checkContributions(rs *record) (string, bool) {
	first := rs.peers == nil
	if first {
		rs.peers = make(map[peer.ID]bool, len(rs.r.Contributions))
	}
	list := rs.r.Contributions
	for i := rs.next; i < len(list); i++ {
		ok, reason := m.contributionReady(rs, list[i])
		if reason != "" {
			return fmt.Sprintf("contribution %s: %s", list[i], reason), false
		}
		if !ok {
			if first {
				return m.requestRest(rs, list[i+1:]), false
			}
			return "", false
		}
		p := m.contribs[list[i]].c.Peer
		if rs.peers[p] {
			return fmt.Sprintf("contribution %s: second contribution of peer %s", list[i], p), false
		}
		rs.peers[p], rs.next = true, i+1
	}
	return "", true
}

// contributionReady reports whether a contribution is present, consistent
// with the record and (unless the record is trusted) checked; it requests
// what is missing.
func (m *Machine) contributionReady(rs *record, id cid.Cid) (bool, string) {
	cs := m.contribs[id]
	if cs == nil {
		m.want(id)
		return false, ""
	}
	if reason := m.consistent(rs.r, cs); reason != "" {
		return false, reason
	}
	switch {
	case rs.trusted || cs.check == checkedOK:
		return true, ""
	case cs.check == checkedBad:
		return false, "delta failed its check"
	}
	m.ensureCheck(id, cs)
	return false, ""
}

func (m *Machine) requestRest(rs *record, rest []cid.Cid) string {
	for _, id := range rest {
		if _, reason := m.contributionReady(rs, id); reason != "" {
			return fmt.Sprintf("contribution %s: %s", id, reason)
		}
	}
	return ""
}

func (m *Machine) consistent(r *wire.Record, cs *contrib) string {
	switch {
	case cs.bad != "":
		return cs.bad
	case cs.c.Round != r.Round || !cs.c.Base.Equals(r.Base):
		return "trained for another round or base"
	}
	return ""
}

// checkFused compares the record's fused CID with our own fusion of the
// same inputs, asking for that fusion if it has not run yet.
func (m *Machine) checkFused(id cid.Cid, rs *record) {
	f := m.fusions[rs.key]
	if f == nil && m.dominated(rs) {
		m.deferred[id] = true
		return
	}
	if f == nil {
		m.requestFusion(rs.key, rs.r.Parent, rs.r.Contributions, false)
		return
	}
	switch {
	case f.result.Defined() && f.result.Equals(rs.r.Fused):
		m.validate(id, rs)
	case f.result.Defined():
		m.invalidate(id, fmt.Sprintf("forged: fused CID %s, recomputed %s", rs.r.Fused, f.result))
	case f.err != "":
		m.invalidate(id, "fusion failed: "+f.err)
	}
}

// dominated reports whether verifying rs can wait: the usable set on its
// parent is strictly larger (so this peer's own union will outweigh it) or
// it is lighter than the head, and it has no children. Deferred records are
// looked at again whenever the head changes or a fusion finishes.
func (m *Machine) dominated(rs *record) bool {
	if len(m.children[rs.id]) > 0 {
		return false // a descendant may be heavier than anything else
	}
	return m.usableCount(rs.r.Base, rs.r.Round) > len(rs.r.Contributions) ||
		m.weightOf(rs.r.Parent)+len(rs.r.Contributions) < m.headWeight
}

func (m *Machine) redoDeferred() {
	for id := range m.deferred {
		m.dirty[id] = true
	}
	clear(m.deferred)
}

func (m *Machine) requestFusion(key string, parent cid.Cid, set []cid.Cid, build bool) {
	if f := m.fusions[key]; f != nil {
		f.build = f.build || build
		return
	}
	job := FuseJob{Key: key, Round: m.roundOf(parent) + 1, Base: m.baseOf(parent), Rule: m.gen.Params.Rule}
	for _, c := range set {
		cs := m.contribs[c].c
		job.Inputs = append(job.Inputs, Input{Contribution: c, Peer: cs.Peer, Delta: cs.Delta, Examples: cs.Examples, Task: cs.Task})
	}
	m.fusions[key] = &fusion{job: job, parent: parent, build: build}
	m.rd.Fuse = append(m.rd.Fuse, job)
}

func (m *Machine) onFused(r Fused) error {
	f := m.fusions[r.Key]
	if f == nil {
		return nil // unknown or pruned by finality while the fusion ran
	}
	if r.Err != nil {
		f.err = r.Err.Error()
		m.voidFusionInput(f, r.Err)
	} else {
		f.result = r.Fused
	}
	for _, id := range m.byKey[r.Key] {
		m.dirty[id] = true
	}
	m.redoDeferred()
	m.considerDirty = true
	if f.build && f.result.Defined() {
		m.build(f)
	}
	return nil
}

// voidFusionInput marks invalid the contribution whose delta a failed
// fusion names (a *fusion.DeltaError: non-finite values, a shape that does
// not match the base), as a failed delta check would: records listing it
// become invalid, and the usable set without it gets a new fusion key, so
// consider fuses and builds again without it instead of stalling.
func (m *Machine) voidFusionInput(f *fusion, err error) {
	var de *fuse.DeltaError
	if !errors.As(err, &de) || de.ID == "" {
		return
	}
	for _, in := range f.job.Inputs {
		if in.Delta.String() != de.ID && in.Contribution.String() != de.ID {
			continue
		}
		cs := m.contribs[in.Contribution]
		if cs == nil || cs.c == nil || cs.check == checkedBad {
			continue
		}
		switch cs.check {
		case checkedOK:
			m.okN[cs.c.Base]--
		case checking:
			m.checkingN[cs.c.Base]--
		case unavailable:
			delete(m.unavailable, in.Contribution)
		}
		cs.check = checkedBad
		m.touchRefs(in.Contribution)
		m.headDirty = true
		m.event(Rejected{CID: in.Contribution, From: cs.c.Peer, Cause: CauseFusion, Reason: "fusion: " + de.Error()})
	}
}

// build makes, persists and publishes the record of a finished fusion.
func (m *Machine) build(f *fusion) {
	r := &wire.Record{Swarm: m.swarm, Round: f.job.Round, Parent: f.parent, Base: f.job.Base, Fused: f.result}
	for _, in := range f.job.Inputs {
		r.Contributions = append(r.Contributions, in.Contribution)
	}
	block, err := r.Encode()
	if err != nil {
		panic(fmt.Sprintf("consensus: encode own record: %v", err)) // inputs were validated
	}
	id := wire.CIDOf(block)
	if m.records[id] != nil {
		return
	}
	_ = m.addRecord(id, block, m.self)
	m.publish(wire.KindRecord, block)
	m.event(Built{Record: id, Round: r.Round, Contributions: len(r.Contributions)})
}

// encode re-creates the record's block: encoding is deterministic, so the
// bytes need not be kept (a large swarm sees many 40 KiB records).
func (rs *record) encode() []byte {
	b, err := rs.r.Encode()
	if err != nil {
		panic(fmt.Sprintf("consensus: re-encode of a decoded record: %v", err))
	}
	return b
}

func (m *Machine) validate(id cid.Cid, rs *record) {
	rs.status, rs.peers = valid, nil
	rs.weight = m.weightOf(rs.r.Parent) + len(rs.r.Contributions)
	m.bases[rs.r.Fused] = baseInfo{round: rs.r.Round, record: id, base: rs.r.Fused}
	m.headDirty, m.considerDirty = true, true
	for _, ch := range m.children[id] {
		m.dirty[ch] = true
	}
	for _, c := range m.onBase[rs.r.Fused] {
		if cs := m.contribs[c]; cs != nil && cs.c != nil && cs.check == unchecked {
			m.checkOnBase(c, cs, rs.r.Round)
		}
	}
}

func (m *Machine) invalidate(id cid.Cid, reason string) {
	rs := m.records[id]
	rs.status, rs.peers = invalid, nil
	m.considerDirty = true
	m.event(Rejected{CID: id, From: rs.from, Cause: CauseRecord, Reason: reason})
	for _, ch := range m.children[id] {
		m.dirty[ch] = true
	}
}
