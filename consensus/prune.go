package consensus

import (
	"fmt"

	"github.com/ipfs/go-cid"
)

// prune forgets everything at or below the final round except the final
// record itself: no rule ever looks there again, and the node's store
// keeps the blocks. Late messages for those rounds are ignored on arrival.
func (m *Machine) prune() {
	for id, rs := range m.records {
		conflicting := rs.r.Round == m.finalRound+1 && !rs.r.Parent.Equals(m.final)
		if (rs.r.Round <= m.finalRound && !id.Equals(m.final)) || conflicting {
			m.dropRecord(id, rs)
		}
	}
	m.rejectBaseless()
	for id, cs := range m.contribs {
		if cs.c == nil || cs.c.Round <= m.finalRound {
			delete(m.contribs, id)
			delete(m.refs, id)
			delete(m.unavailable, id)
			delete(m.myBlocks, id)
			delete(m.nudged, id)
		}
	}
	for key, f := range m.fusions {
		if f.job.Round <= m.finalRound {
			delete(m.fusions, key)
			delete(m.byKey, key)
		}
	}
	m.pruneBases()
}

// rejectBaseless reports the contributions about to be pruned whose base
// never became the base of a valid record: they were kept aside in case
// that record arrived, and it did not before their round became final.
func (m *Machine) rejectBaseless() {
	var ids []cid.Cid
	for id, cs := range m.contribs {
		if cs.c != nil && cs.c.Round <= m.finalRound && cs.check == unchecked {
			if _, known := m.bases[cs.c.Base]; !known {
				ids = append(ids, id)
			}
		}
	}
	sortCIDs(ids)
	for _, id := range ids {
		c := m.contribs[id].c
		m.event(Rejected{CID: id, From: c.Peer, Cause: CauseUnknownBase, Reason: fmt.Sprintf("unknown base %s: no valid record of round %d has it, and round %d is final", c.Base, c.Round-1, m.finalRound)})
	}
}

func (m *Machine) dropRecord(id cid.Cid, rs *record) {
	delete(m.records, id)
	delete(m.children, rs.r.Parent)
	delete(m.opened, rs.r.Parent)
	delete(m.quorumAt, rs.r.Parent)
	delete(m.since, rs.r.Parent)
	delete(m.spec, rs.r.Parent)
	delete(m.deferred, id)
	delete(m.dirty, id)
}

// pruneBases drops per-base state of bases older than the final record's
// own base (contributions of the final round are gone already).
func (m *Machine) pruneBases() {
	keep := m.baseOf(m.final)
	for base, info := range m.bases {
		if info.round >= m.finalRound || base.Equals(keep) {
			continue
		}
		delete(m.bases, base)
		delete(m.onBase, base)
		delete(m.checkingN, base)
		delete(m.okN, base)
		delete(m.mine, base)
	}
	for pb := range m.firstBy {
		if _, ok := m.bases[pb.base]; !ok {
			delete(m.firstBy, pb)
			delete(m.equiv, pb)
		}
	}
}
