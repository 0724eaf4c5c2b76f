package consensus

import (
	"fmt"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// checkState is where a contribution's delta check stands.
type checkState uint8

const (
	unchecked checkState = iota
	checking
	unavailable
	checkedOK
	checkedBad
)

// contrib is a contribution whose signature verified (or a void one: bad
// is set and c may be nil). Metrics and signature are dropped after
// verification; the block is in the node's store.
type contrib struct {
	c       *wire.Contribution
	bad     string
	check   checkState
	checkAt int64  // UnixNano of the last Check request
	rank    uint64 // rankKey(peer, base): build order on this base
}

func (m *Machine) addContribution(id cid.Cid, block []byte, from peer.ID) error {
	c, err := wire.DecodeContribution(block)
	if err != nil {
		return m.voidContribution(id, from, err.Error())
	}
	switch {
	case !c.Swarm.Equals(m.swarm):
		return m.voidContribution(id, from, "contribution for another swarm")
	case !m.gen.Params.Allowed(c.Peer):
		return m.voidContribution(id, from, fmt.Sprintf("peer %s is not on the allowlist", c.Peer))
	case c.Round <= m.finalRound:
		if from != "" { // a replay on gossip, not a block read back from the store
			m.event(Rejected{CID: id, From: from, Cause: CauseReplay, Reason: fmt.Sprintf("replayed: round %d is final (final round %d)", c.Round, m.finalRound)})
		}
		return nil // too old to matter; not evidence of anything
	}
	if err := m.verify(id, c); err != nil {
		return m.voidContribution(id, from, err.Error())
	}
	m.compact(c)
	cs := &contrib{c: c, rank: rankKey(c.Peer, c.Base)}
	m.contribs[id] = cs
	m.persist(id, block)
	m.index(id, cs)
	if c.Peer == m.self && m.self != "" {
		m.mine[c.Base], m.myBlocks[id], cs.check = id, block, checkedOK
		m.okN[c.Base]++
		m.considerDirty = true
	}
	if info, ok := m.bases[c.Base]; ok {
		m.checkOnBase(id, cs, info.round)
	}
	m.touchRefs(id)
	return nil
}

func (m *Machine) voidContribution(id cid.Cid, from peer.ID, reason string) error {
	m.contribs[id] = &contrib{bad: reason}
	m.touchRefs(id)
	return m.reject(id, from, reason)
}

// compact drops what verification no longer needs and shares repeated
// strings, since a large swarm keeps many contributions per round.
func (m *Machine) compact(c *wire.Contribution) {
	c.Metrics, c.Sig, c.Swarm = nil, nil, m.swarm
	if info, ok := m.bases[c.Base]; ok {
		c.Base = info.base
	}
	if t, ok := m.tasks[c.Task]; ok {
		c.Task = t
	} else if len(m.tasks) < 4096 {
		m.tasks[c.Task] = c.Task
	}
}

// index records the contribution under its base and detects equivocation.
func (m *Machine) index(id cid.Cid, cs *contrib) {
	pb := peerBase{cs.c.Peer, cs.c.Base}
	first, seen := m.firstBy[pb]
	m.onBase[cs.c.Base] = append(m.onBase[cs.c.Base], id)
	if !seen {
		m.firstBy[pb] = id
		return
	}
	if !m.equiv[pb] {
		m.equiv[pb] = true
		m.banned[cs.c.Peer] = true
		m.considerDirty = true
		m.headDirty = true
		m.redoDeferred()
		m.event(Equivocation{Peer: cs.c.Peer, Base: cs.c.Base, First: first, Second: id})
		m.announceCID(wire.KindContribution, first) // spread the evidence: peers that
		m.announceCID(wire.KindContribution, id)    // saw only one would keep building on it
	}
}

func (m *Machine) touchRefs(id cid.Cid) {
	for _, r := range m.refs[id] {
		m.dirty[r] = true
	}
}

// checkOnBase starts the check of a contribution whose base is now known
// to end round baseRound, or reports that it claims another round (it can
// never count: every record on the base is of round baseRound+1).
func (m *Machine) checkOnBase(id cid.Cid, cs *contrib, baseRound uint64) {
	if cs.c.Round == baseRound+1 {
		m.ensureCheck(id, cs)
		return
	}
	m.event(Rejected{CID: id, From: cs.c.Peer, Cause: CauseWrongRound, Reason: fmt.Sprintf("round %d on base %s, which ends round %d", cs.c.Round, cs.c.Base, baseRound)})
}

// ensureCheck asks the node to check a contribution's delta once.
func (m *Machine) ensureCheck(id cid.Cid, cs *contrib) {
	if cs.check != unchecked {
		return
	}
	cs.check, cs.checkAt = checking, m.now.UnixNano()
	m.checkingN[cs.c.Base]++
	p := m.gen.Params
	m.rd.Check = append(m.rd.Check, Check{Contribution: id, Peer: cs.c.Peer, Delta: cs.c.Delta, Base: cs.c.Base, Round: cs.c.Round, MaxBytes: p.MaxDelta, NormBound: p.NormBound})
}

func (m *Machine) retryChecks() {
	var again []cid.Cid
	for id := range m.unavailable {
		if cs := m.contribs[id]; cs == nil {
			delete(m.unavailable, id) // pruned
		} else if m.now.UnixNano()-cs.checkAt >= int64(m.cfg.RetryEvery) {
			again = append(again, id)
		}
	}
	sortCIDs(again)
	for _, id := range again {
		cs := m.contribs[id]
		cs.check = unchecked
		delete(m.unavailable, id)
		m.ensureCheck(id, cs)
	}
}

func (m *Machine) onChecked(r Checked) error {
	cs := m.contribs[r.Contribution]
	if cs == nil {
		return nil // pruned by finality while the check ran
	}
	if cs.c != nil && cs.check == checkedBad {
		return nil // voided meanwhile by a fusion that named its delta
	}
	if cs.c == nil || cs.check != checking {
		return fmt.Errorf("consensus: unexpected check result for contribution %s", r.Contribution)
	}
	m.checkingN[cs.c.Base]--
	m.considerDirty = true
	switch {
	case r.Unavailable:
		cs.check, cs.checkAt = unavailable, m.now.UnixNano()
		m.unavailable[r.Contribution] = true
		return nil
	case r.Err != nil:
		cs.check = checkedBad
		m.touchRefs(r.Contribution)
		m.headDirty = true
		m.event(Rejected{CID: r.Contribution, From: cs.c.Peer, Cause: CauseDelta, Reason: "delta check: " + r.Err.Error()})
		return nil
	}
	cs.check = checkedOK
	m.okN[cs.c.Base]++
	m.touchRefs(r.Contribution)
	return nil
}

// usable lists the contributions this peer fuses on base for round, sorted
// by CID: verified, delta checked, allowed, and from a peer with no
// equivocation evidence against it on any base (a ban that only narrows
// what this peer builds; others' records are judged per base).
func (m *Machine) usable(base cid.Cid, round uint64) []cid.Cid {
	var out []cid.Cid
	for _, id := range m.onBase[base] {
		if m.isUsable(id, round) {
			out = append(out, id)
		}
	}
	sortCIDs(out)
	return out
}

func (m *Machine) isUsable(id cid.Cid, round uint64) bool {
	cs := m.contribs[id]
	return cs != nil && cs.c != nil && cs.c.Round == round && cs.check == checkedOK && !m.banned[cs.c.Peer]
}

// usableCount is len(usable(base, round)) without building the list.
func (m *Machine) usableCount(base cid.Cid, round uint64) int {
	n := 0
	for _, id := range m.onBase[base] {
		if m.isUsable(id, round) {
			n++
		}
	}
	return n
}

// propose signs, records and publishes the local peer's contribution.
func (m *Machine) propose(p Propose) error {
	if m.cfg.Signer == nil {
		return ErrNoSigner
	}
	info, ok := m.bases[p.Base]
	if !ok {
		return fmt.Errorf("%w: %s is not the base of a valid record", ErrUnknownBase, p.Base)
	}
	if prev, ok := m.mine[p.Base]; ok {
		return fmt.Errorf("%w: %s (contribution %s)", ErrAlreadyProposed, p.Base, prev)
	}
	c := &wire.Contribution{Swarm: m.swarm, Round: info.round + 1, Base: p.Base, Delta: p.Delta,
		Task: p.Task, Examples: p.Examples, Metrics: p.Metrics}
	if err := c.Sign(m.cfg.Signer); err != nil {
		return fmt.Errorf("consensus: propose: %w", err)
	}
	block, err := c.Encode()
	if err != nil {
		return fmt.Errorf("consensus: propose: %w", err)
	}
	id := wire.CIDOf(block)
	if err := m.addContribution(id, block, m.self); err != nil {
		return fmt.Errorf("consensus: own contribution: %w", err)
	}
	m.publish(wire.KindContribution, block)
	m.event(Proposed{Contribution: id, Round: c.Round, Base: p.Base})
	return nil
}
