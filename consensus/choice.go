package consensus

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// alive reports whether a record counts for the fork choice: verified,
// on a live parent, and holding no contribution later found to be an
// equivocation. Records at or below the final round are alive only on the
// final chain, which is never revisited.
func (m *Machine) alive(id cid.Cid, memo map[cid.Cid]bool) bool {
	if id.Equals(m.swarm) || id.Equals(m.final) {
		return true
	}
	if v, ok := memo[id]; ok {
		return v
	}
	rs := m.records[id]
	ok := rs != nil && rs.status == valid && rs.r.Round > m.finalRound && m.alive(rs.r.Parent, memo)
	if ok && len(m.equiv) > 0 {
		for _, c := range rs.r.Contributions {
			if cs := m.contribs[c]; cs != nil && cs.c != nil && m.equiv[peerBase{cs.c.Peer, rs.r.Base}] {
				ok = false
				break
			}
		}
	}
	memo[id] = ok
	return ok
}

// better is the fork choice order: more valid contributions on the chain,
// then the lower record CID.
func better(aw int, a cid.Cid, bw int, b cid.Cid) bool {
	if aw != bw {
		return aw > bw
	}
	return wire.CompareCID(a, b) < 0
}

// chooseHead runs the fork choice over all alive records and moves
// finality.
func (m *Machine) chooseHead() {
	if !m.headDirty {
		return
	}
	m.headDirty = false
	m.aliveMemo, m.parentList = map[cid.Cid]bool{}, nil
	memo := m.aliveMemo
	best, bestW := m.final, m.weightOf(m.final)
	for id, rs := range m.records {
		if rs.status == valid && m.alive(id, memo) && better(rs.weight, id, bestW, best) {
			best, bestW = id, rs.weight
		}
	}
	if best.Equals(m.head) {
		return
	}
	m.redoDeferred()
	m.considerDirty = true
	m.head, m.headRound, m.headWeight = best, m.roundOf(best), bestW
	if _, ok := m.opened[best]; !ok {
		m.opened[best] = m.now
	}
	n := 0
	if rs := m.records[best]; rs != nil {
		n = len(rs.r.Contributions)
	}
	m.event(HeadChanged{Record: best, Round: m.headRound, Base: m.baseOf(best), Weight: bestW, Contributions: n})
	if m.finalize() {
		m.aliveMemo, m.parentList = map[cid.Cid]bool{}, nil
	}
	m.rebase()
}

// finalize makes final the head's ancestor Finality rounds below it and
// reports whether finality moved.
func (m *Machine) finalize() bool {
	depth := uint64(m.gen.Params.Finality)
	if m.headRound < depth+1 || m.headRound-depth <= m.finalRound {
		return false
	}
	var chain []cid.Cid
	for id := m.head; !id.Equals(m.final); id = m.records[id].r.Parent {
		chain = append(chain, id)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		rs := m.records[chain[i]]
		if rs.r.Round > m.headRound-depth {
			break
		}
		m.final, m.finalRound = chain[i], rs.r.Round
		m.event(Finalized{Record: chain[i], Round: rs.r.Round})
	}
	m.prune()
	return true
}

// parents lists the records a new record could extend: the head and the
// parent of every alive non-final record, sorted.
func (m *Machine) parents() []cid.Cid {
	if m.parentList != nil {
		return m.parentList
	}
	set := map[cid.Cid]bool{m.head: true}
	memo := m.aliveMemo
	for id, rs := range m.records {
		if rs.status == valid && m.alive(id, memo) && m.alive(rs.r.Parent, memo) {
			set[rs.r.Parent] = true
		}
	}
	out := make([]cid.Cid, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sortCIDs(out)
	m.parentList = out
	return out
}

// consider applies the close rule and the merge rule: build a record on a
// parent when its usable set would make a heavier chain than the head and
// no live record with exactly that set exists.
func (m *Machine) consider() {
	if !m.considerDirty {
		return
	}
	m.considerDirty = false
	for _, p := range m.parents() {
		m.considerParent(p)
	}
}

func (m *Machine) considerParent(p cid.Cid) {
	base := m.baseOf(p)
	if m.checkingN[base] > 0 || m.okN[base] == 0 || m.weightOf(p)+m.okN[base] <= m.headWeight || m.fetchingOn(p) {
		return // okN bounds the usable set from above
	}
	if _, closed := m.closeTime(p, m.okN[base]); !closed {
		return
	}
	set := m.usable(base, m.roundOf(p)+1)
	closeAt, closed := m.closeTime(p, len(set))
	if !closed || m.weightOf(p)+len(set) <= m.headWeight || len(set) == 0 {
		return
	}
	key := fuseKey(p, set)
	if m.liveRecord(key) {
		return // verifying that record fuses this very set
	}
	c := m.since[p]
	if c.key != key {
		c = candidate{key: key, since: m.now, wait: m.backoff(base, set)}
		m.since[p] = c
	}
	if closeAt.Before(c.since) {
		closeAt = c.since
	}
	if m.now.Before(closeAt.Add(c.wait)) {
		m.speculate(key, p, set)
		return
	}
	m.requestBuild(key, p, set)
}

// speculate fuses set on p while this peer waits its backoff (build
// false), so the fusion runs alongside the first-ranked builder's and a
// record holding the same set validates as soon as it arrives. At most one
// speculative fusion per parent runs at a time: a set that grew meanwhile
// is fused when the older one finishes (which is kept, as every fusion is,
// until finality prunes it).
func (m *Machine) speculate(key string, p cid.Cid, set []cid.Cid) {
	if m.fusions[key] != nil {
		return
	}
	if f := m.fusions[m.spec[p]]; f != nil && f.running() {
		return
	}
	m.spec[p] = key
	m.requestFusion(key, p, set, false)
}

// requestBuild marks the fusion of set on p to be built once its backoff
// expired, requesting it if needed; a fusion that finished already
// (speculatively, or verifying a record since found invalid) is built now.
func (m *Machine) requestBuild(key string, p cid.Cid, set []cid.Cid) {
	m.requestFusion(key, p, set, true)
	if f := m.fusions[key]; f.result.Defined() {
		m.build(f)
	}
}

// closeTime applies the close rule to the head: the quorum was reached and
// Window has passed since, or Deadline has passed since the round opened
// and the set is not empty. A parent that is not the head, or that has a
// verified record, is closed already.
func (m *Machine) closeTime(p cid.Cid, n int) (time.Time, bool) {
	if !p.Equals(m.head) || m.hasChild(p) {
		return time.Time{}, true
	}
	params := m.gen.Params
	if n >= params.Quorum {
		if _, ok := m.quorumAt[p]; !ok {
			m.quorumAt[p] = m.now
		}
	}
	at := m.opened[p].Add(params.Deadline)
	if q, ok := m.quorumAt[p]; ok && q.Add(params.Window).Before(at) {
		at = q.Add(params.Window)
	}
	return at, n > 0 && !m.now.Before(at)
}

// hasChild reports whether some verified record on p exists: the round
// is closed somewhere, so a merge need not wait for the local close rule.
// Unverified records do not count, or any forger could close rounds early.
func (m *Machine) hasChild(p cid.Cid) bool {
	for _, ch := range m.children[p] {
		if m.records[ch].status == valid {
			return true
		}
	}
	return false
}

// fetchingOn reports whether a record on p that arrived less than two
// retry periods ago is still waiting for its contributions: building waits
// for them so one union holds them all (bounded, so a record naming
// withheld blocks cannot stall merges).
func (m *Machine) fetchingOn(p cid.Cid) bool {
	for _, ch := range m.children[p] {
		rs := m.records[ch]
		if rs.status == pending && rs.next < len(rs.r.Contributions) && m.now.Sub(rs.arrived) < 2*m.cfg.RetryEvery {
			return true
		}
	}
	return false
}

func (m *Machine) liveRecord(key string) bool {
	for _, id := range m.byKey[key] {
		if m.records[id].status != invalid {
			return true
		}
	}
	return false
}

// backoff is this peer's wait before building set on base once the close
// rule holds. Peers are ranked by rankKey(peer, base), the same order on
// every peer; rank is the number of set's contributors ahead of this peer.
// The first-ranked peer builds at once, each of the next slots(n) ranks one
// BuildSpread later than the one before (time enough to receive and verify
// the record of the earlier rank, which stops this peer if its set adds
// nothing), and the remaining ranks share one more BuildSpread. So about one
// record is built per BuildSpread whatever the swarm size, and a peer holding
// the only copy of a contribution waits at most (slots(n)+1)*BuildSpread.
func (m *Machine) backoff(base cid.Cid, set []cid.Cid) time.Duration {
	step := m.cfg.BuildSpread
	if step <= 0 {
		return 0
	}
	n := len(set)
	rank := n // an observer builds last
	if m.self != "" {
		own := rankKey(m.self, base)
		rank = 0
		for _, id := range set {
			if cs := m.contribs[id]; cs.c.Peer != m.self && cs.rank < own {
				rank++
			}
		}
	}
	k := slots(n)
	if rank < k {
		return time.Duration(rank) * step
	}
	return time.Duration(k)*step + time.Duration(int64(step)*int64(rank-k)/int64(n-k+1))
}

// slots is how many ranks build one BuildSpread apart: one more than
// log2 of the set size, so the longest wait grows slowly with the swarm.
func slots(n int) int { return bits.Len(uint(n)) }

// rankKey orders the peers that may build on base: a hash of the peer and
// the base, so the first-ranked peer changes every round.
func rankKey(p peer.ID, base cid.Cid) uint64 {
	h := sha256.Sum256(append([]byte(p), base.Bytes()...))
	return binary.BigEndian.Uint64(h[:8])
}

// rebase re-signs the local delta of a lost sibling base on the new head
// base, when Config.Rebase is set.
func (m *Machine) rebase() {
	if !m.cfg.Rebase || m.cfg.Signer == nil {
		return
	}
	base := m.baseOf(m.head)
	if _, done := m.mine[base]; done {
		return
	}
	var own []cid.Cid
	for _, id := range m.mine {
		own = append(own, id)
	}
	sortCIDs(own)
	for _, id := range own {
		cs := m.contribs[id]
		if cs != nil && cs.c.Round == m.headRound && !m.onChain(cs.c.Base) {
			_ = m.propose(Propose{Base: base, Delta: cs.c.Delta, Task: cs.c.Task, Examples: cs.c.Examples})
			return
		}
	}
}

// onChain reports whether base is the base of the head's record or of one
// of its ancestors down to the final record.
func (m *Machine) onChain(base cid.Cid) bool {
	for id := m.head; !id.Equals(m.swarm); {
		rs := m.records[id]
		if rs.r.Base.Equals(base) {
			return true
		}
		if id.Equals(m.final) {
			return false
		}
		id = rs.r.Parent
	}
	return base.Equals(m.gen.Weights)
}
