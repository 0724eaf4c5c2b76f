package consensus

// One test per claim of docs/protocol.md ("Claims" section); the claim
// number is in each test's comment.

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/libp2p/go-libp2p/core/peer"
)

func params(quorum, finality int) wire.Params {
	p := wire.DefaultParams()
	p.Quorum, p.Finality, p.Window, p.Deadline = quorum, finality, 10*time.Second, time.Minute
	return p
}

func startCluster(t *testing.T, p wire.Params, names ...string) *cluster {
	c := newCluster(t, p)
	for _, n := range names {
		c.add(n)
	}
	return c
}

// round makes the named peers contribute, closes the round and delivers.
func (c *cluster) round(names ...string) {
	for _, n := range names {
		c.propose(n, false, false)
	}
	c.deliver()
	c.tick(c.params.Window + time.Second)
	c.deliver()
}

func mustAgree(t *testing.T, c *cluster) {
	t.Helper()
	if !c.agree() {
		t.Fatalf("peers disagree:\n%s", c.heads())
	}
}

// Claim 3: gossip for another swarm is rejected.
func TestClaimOtherSwarmRejected(t *testing.T) {
	c := startCluster(t, params(2, 2), "a")
	other := newCluster(t, params(3, 2))
	o := other.add("x")
	other.propose("x", false, false)
	if len(other.outbox) != 1 {
		t.Fatal("no contribution published")
	}
	err := c.nodes["a"].m.Step(Gossip{From: o.m.self, Payload: other.outbox[0].payload})
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("foreign gossip accepted: %v", err)
	}
}

// Claim 4: two contributions of one peer on one base void both, and a
// record holding one of them stops counting, even after it was adopted.
func TestClaimEquivocationVoidsBoth(t *testing.T) {
	c := startCluster(t, params(2, 3), "a", "b", "e")
	c.propose("a", false, false)
	c.propose("e", false, false)
	c.deliver()
	c.tick(11 * time.Second)
	c.deliver()
	a := c.nodes["a"].m
	if a.Head().Weight != 2 {
		t.Fatalf("round with e's first contribution not adopted: %+v", a.Head())
	}
	// e signs a second, different delta on the same base.
	second := wire.Contribution{Swarm: a.swarm, Round: 1, Base: a.gen.Weights, Delta: rawCID("other"), Task: "x", Examples: 1}
	if err := second.Sign(wire.SeededSigner("e")); err != nil {
		t.Fatal(err)
	}
	b, _ := second.Encode()
	c.out.Reset()
	c.step(c.nodes["a"], Gossip{Payload: announce(a.swarm, wire.KindContribution, b)})
	c.process(c.nodes["a"])
	if !strings.Contains(c.out.String(), "equivocation") {
		t.Fatalf("no equivocation event:\n%s", c.out)
	}
	c.tick(3 * time.Second)
	if h := a.Head(); h.Weight != 1 {
		t.Fatalf("record holding an equivocating contribution still counts: %+v", h)
	}
}

// Claim 5: a round does not close before quorum+window, closes at it, and
// closes at the deadline with fewer than quorum contributions.
func TestClaimCloseRule(t *testing.T) {
	c := startCluster(t, params(2, 2), "a", "b")
	c.propose("a", false, false)
	c.propose("b", false, false)
	c.deliver()
	c.tick(9 * time.Second)
	if c.nodes["a"].m.Head().Round != 0 {
		t.Fatal("closed before the window elapsed")
	}
	c.tick(time.Second)
	if c.nodes["a"].m.Head().Round != 1 {
		t.Fatal("not closed when quorum and window held")
	}
	c.propose("a", false, false)
	c.tick(59 * time.Second)
	if c.nodes["a"].m.Head().Round != 1 {
		t.Fatal("closed below quorum before the deadline")
	}
	c.tick(time.Second)
	if c.nodes["a"].m.Head().Round != 2 {
		t.Fatal("not closed at the deadline with one contribution")
	}
}

// Claim 6: records are a pure function of their contents: peers that build
// independently produce the same CID.
func TestClaimRecordsIdentical(t *testing.T) {
	c := startCluster(t, params(2, 2), "a", "b", "c")
	c.round("a", "b", "c")
	mustAgree(t, c)
	if strings.Count(c.out.String(), "built") != 3 {
		t.Fatalf("expected three independent builds (spread 0):\n%s", c.out)
	}
}

// Claim 7: on one parent the larger set wins; on equal sets the lower CID.
func TestClaimForkChoiceOrder(t *testing.T) {
	x, y := rawCID("x"), rawCID("y")
	if !better(3, y, 2, x) || better(2, x, 3, y) {
		t.Fatal("heavier record does not win")
	}
	lo, hi := x, y
	if wire.CompareCID(lo, hi) > 0 {
		lo, hi = hi, lo
	}
	if !better(2, lo, 2, hi) || better(2, hi, 2, lo) {
		t.Fatal("tie does not go to the lower CID")
	}
}

// Claim 8: records on the same parent with different sets merge into
// their union once the peers can talk; nothing is lost after a heal.
func TestClaimUnionAfterHeal(t *testing.T) {
	c := startCluster(t, params(2, 3), "a", "b", "c", "d")
	c.partition([]string{"a", "b", "/", "c", "d"})
	c.round("a", "b", "c", "d")
	if c.agree() {
		t.Fatal("partitioned halves agree before the heal")
	}
	clear(c.group)
	c.tick(15 * time.Second)
	c.deliver()
	mustAgree(t, c)
	if h := c.nodes["a"].m.Head(); h.Weight != 4 || h.Round != 1 {
		t.Fatalf("union not adopted: %+v", h)
	}
}

// Claim 9: across rounds the chain with more contributions wins, even if
// it is shorter.
func TestClaimHeaviestChain(t *testing.T) {
	c := startCluster(t, params(1, 5), "a", "b", "c", "d", "e")
	c.partition([]string{"a", "/", "b", "c", "d", "e"})
	c.round("a")
	c.round("a") // a: two rounds, weight 2
	c.round("b", "c", "d", "e")
	c.round("b", "c", "d")
	clear(c.group)
	c.tick(15 * time.Second)
	c.deliver()
	mustAgree(t, c)
	if h := c.nodes["a"].m.Head(); h.Weight != 7 {
		t.Fatalf("heaviest chain (7) not chosen: %+v", h)
	}
}

// Claim 10: a record Finality rounds deep is final and records that
// conflict with it are ignored.
func TestClaimFinality(t *testing.T) {
	c := startCluster(t, params(1, 2), "a", "b")
	c.partition([]string{"a", "/", "b"})
	c.round("a")
	c.round("a")
	c.round("a")
	if h := c.nodes["a"].m.Head(); h.FinalRound != 1 {
		t.Fatalf("round 1 not final after 3 rounds with depth 2: %+v", h)
	}
	// b has a heavier round 1 of its own, but a's round 1 is final.
	c.nodes["b"].m.gen.Params.Quorum = 1
	c.round("b")
	clear(c.group)
	c.tick(15 * time.Second)
	c.deliver()
	if !strings.Contains(c.out.String(), "a: rejected") || c.nodes["a"].m.Head().Round != 3 {
		t.Fatalf("a conflicting record below finality was not ignored:\n%s", c.out)
	}
}

// Claim 11: a contribution on a base that lost the fork choice is not
// counted on the winning chain; with Rebase the peer re-signs its delta on
// the winning base.
func TestClaimStaleAndRebase(t *testing.T) {
	for _, rebase := range []bool{false, true} {
		c := startCluster(t, params(1, 3), "a", "b", "c")
		c.nodes["a"].m.cfg.Rebase = rebase
		c.partition([]string{"a", "/", "b", "c"})
		c.round("a")
		c.round("b", "c")
		c.round("b", "c")
		c.propose("a", false, false) // trained on a's losing base
		clear(c.group)
		c.out.Reset()
		c.tick(15 * time.Second)
		c.deliver()
		proposed := strings.Count(c.out.String(), "a: proposed round=3")
		if (proposed == 1) != rebase {
			t.Fatalf("rebase=%v: %d rebased proposals:\n%s", rebase, proposed, c.out)
		}
		if h := c.nodes["b"].m.Head(); h.Weight != 4 || h.Round != 2 {
			t.Fatalf("stale contribution counted: %+v", h)
		}
	}
}

// Claim 12: a late joiner fetches the chain by CID, verifies every fusion
// and reaches the same head.
func TestClaimCatchUp(t *testing.T) {
	c := startCluster(t, params(2, 2), "a", "b")
	for i := 0; i < 4; i++ {
		c.round("a", "b")
	}
	d := c.add("d")
	c.out.Reset()
	c.tick(15 * time.Second)
	c.deliver()
	mustAgree(t, c)
	if n := strings.Count(c.out.String(), "d: fuse"); n != 4 {
		t.Fatalf("late joiner ran %d fusions, want 4 (one per record)", n)
	}
	if d.m.Head().FinalRound != 2 {
		t.Fatalf("late joiner did not finalize: %+v", d.m.Head())
	}
}

// Claim 13: a record whose fused CID is not the fusion of its inputs is
// rejected.
func TestClaimForgedRecord(t *testing.T) {
	c := startCluster(t, params(2, 2), "a", "b", "g")
	c.propose("a", false, false)
	c.propose("b", false, false)
	c.deliver()
	c.forge("g")
	c.out.Reset()
	c.deliver()
	if !strings.Contains(c.out.String(), "forged") || c.nodes["a"].m.Head().Round != 0 {
		t.Fatalf("forged record accepted:\n%s", c.out)
	}
}

// Claim 14: a contribution whose delta fails its check is not counted,
// and a record holding it is invalid.
func TestClaimBadDelta(t *testing.T) {
	c := startCluster(t, params(1, 2), "a", "b", "f")
	c.propose("a", false, false)
	c.propose("f", true, false)
	c.deliver()
	c.tick(11 * time.Second)
	c.deliver()
	if h := c.nodes["b"].m.Head(); h.Weight != 1 {
		t.Fatalf("bad delta counted: %+v", h)
	}
	if !strings.Contains(c.out.String(), "b: rejected") {
		t.Fatalf("f's record holding its bad delta was not rejected:\n%s", c.out)
	}
}

// Claim 15: with an allowlist, other peers' contributions are rejected.
func TestClaimAllowlist(t *testing.T) {
	p := params(1, 2)
	p.Allow = []peer.ID{wire.SeededSigner("a").ID()}
	c := startCluster(t, p, "a", "x")
	c.propose("x", false, false)
	c.deliver()
	if !strings.Contains(c.out.String(), "allowlist") {
		t.Fatalf("contribution of a peer off the allowlist accepted:\n%s", c.out)
	}
}

// Claim 16: a peer never signs two contributions on one base.
func TestClaimNoSelfEquivocation(t *testing.T) {
	c := startCluster(t, params(2, 2), "a")
	m := c.nodes["a"].m
	base := m.Head().Base
	if err := m.Step(Propose{Base: base, Delta: rawCID("d1")}); err != nil {
		t.Fatal(err)
	}
	if err := m.Step(Propose{Base: base, Delta: rawCID("d2")}); !errors.Is(err, ErrAlreadyProposed) {
		t.Fatalf("second proposal on one base: %v", err)
	}
	if err := m.Step(Propose{Base: rawCID("nowhere"), Delta: rawCID("d3")}); !errors.Is(err, ErrUnknownBase) {
		t.Fatalf("proposal on an unknown base: %v", err)
	}
}

// Claim 17: in spot-check mode deep records are accepted without a fusion
// for most records, and the head's records are always fused.
func TestClaimSpotCheck(t *testing.T) {
	c := startCluster(t, params(2, 1), "a", "b")
	for i := 0; i < 12; i++ {
		c.round("a", "b")
	}
	c.spot = 1000
	d := c.add("d")
	c.out.Reset()
	c.tick(15 * time.Second)
	c.deliver()
	mustAgree(t, c)
	if n := strings.Count(c.out.String(), "d: fuse"); n < 1 || n > 3 {
		t.Fatalf("spot-checking joiner ran %d fusions for 12 records, want 1..3", n)
	}
	_ = d
}

// Claim 18: the Machine is deterministic: the same inputs give the same
// outputs, byte for byte.
func TestClaimDeterministic(t *testing.T) {
	run := func() string {
		c := startCluster(t, params(2, 2), "a", "b", "c")
		c.spread = 3 * time.Second
		c.partition([]string{"a", "/", "b", "c"})
		c.round("a", "b", "c")
		clear(c.group)
		var all strings.Builder
		c.out = &all
		c.tick(15 * time.Second)
		c.deliver()
		c.round("a", "b", "c")
		return all.String() + c.heads()
	}
	if a, b := run(), run(); a != b {
		t.Fatalf("two identical runs differ:\n%s\n----\n%s", a, b)
	}
}

// Claim 19: a record listing a contribution nobody serves never counts.
func TestClaimWithheld(t *testing.T) {
	c := startCluster(t, params(1, 2), "a", "w")
	w := c.nodes["w"]
	w.withhold = true
	c.propose("w", false, false)
	c.outbox = nil // w's contribution announcement is lost; only its record arrives
	c.tick(11 * time.Second)
	c.deliver()
	if h := c.nodes["a"].m.Head(); h.Round != 0 {
		t.Fatalf("record with a withheld contribution counted: %+v", h)
	}
	if !strings.Contains(c.out.String(), "unavailable") {
		t.Fatalf("a did not try to fetch the withheld block:\n%s", c.out)
	}
}

// Advance acknowledges only what Ready returned: work that Steps add
// between Ready and Advance is kept.
func TestAdvanceKeepsNewWork(t *testing.T) {
	c := startCluster(t, params(2, 2), "a")
	m := c.nodes["a"].m
	m.Step(Propose{Base: m.Head().Base, Delta: rawCID("d1")})
	rd := m.Ready()
	if len(rd.Messages) != 1 {
		t.Fatalf("want one message, got %d", len(rd.Messages))
	}
	other := wire.SeededSigner("b")
	ct := wire.Contribution{Swarm: m.swarm, Round: 1, Base: m.Head().Base, Delta: rawCID("d2")}
	if err := ct.Sign(other); err != nil {
		t.Fatal(err)
	}
	b, _ := ct.Encode()
	_ = m.Step(Gossip{Payload: announce(m.swarm, wire.KindContribution, b)})
	m.Advance()
	if rd := m.Ready(); len(rd.Check) != 1 || len(rd.Messages) != 0 {
		t.Fatalf("work added before Advance was lost or repeated: %+v", rd)
	}
}

// Claim 12b: a joining peer is not Synced (should not train) until it has
// verified the announced head or JoinWait passed without one.
func TestClaimSynced(t *testing.T) {
	c := startCluster(t, params(1, 2), "a")
	c.round("a")
	cfg := DefaultConfig(c.genesis, wire.SeededSigner("j"))
	m, err := New(cfg, c.now)
	if err != nil {
		t.Fatal(err)
	}
	if m.Synced() {
		t.Fatal("a new peer with no head is synced before JoinWait")
	}
	a := c.nodes["a"].m
	head := a.records[a.Head().Record]
	_ = m.Step(Gossip{Payload: announce(m.swarm, wire.KindRecord, head.encode())})
	if m.Synced() {
		t.Fatal("synced while the announced head is still unverified")
	}
	m.Tick(c.now.Add(max(cfg.JoinWait, 2*cfg.RetryEvery)))
	if !m.Synced() {
		t.Fatal("not synced after JoinWait with the head unverifiable (blocks never arrived)")
	}
}

// Claim 21: the build backoff is ordered by rank (a hash of peer and base,
// the same order on every peer): on a clean network the first-ranked peer
// builds in the same Tick that sees the round close, and no other peer
// builds, because the record reaches it before its rank's backoff ends.
func TestClaimRankedBuild(t *testing.T) {
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	c := newCluster(t, params(8, 2))
	c.spread = 2 * time.Second
	for _, n := range names {
		c.add(n)
	}
	for _, n := range names {
		c.propose(n, false, false)
	}
	c.deliver()
	c.out.Reset()
	c.tick(10 * time.Second) // quorum at 0 s + window 10 s: closed now
	first := strings.Count(c.out.String(), "built")
	c.deliver()
	for i := 0; i < 30; i++ {
		c.tick(time.Second)
		c.deliver()
	}
	mustAgree(t, c)
	if h := c.nodes["a"].m.Head(); h.Round != 1 || h.Weight != 8 {
		t.Fatalf("round 1 did not close with all 8: %+v", h)
	}
	if first != 1 || strings.Count(c.out.String(), "built") != 1 {
		t.Fatalf("want one build, at the close; got %d at the close:\n%s", first, c.out)
	}
}

// Claim 22: a peer whose contribution a record leaves out re-announces it
// at once (not only every AnnounceEvery), so the union that follows holds it.
func TestClaimMissingContributionReannounced(t *testing.T) {
	c := newCluster(t, params(2, 3))
	c.spread = 2 * time.Second
	for _, n := range []string{"a", "b", "x"} {
		c.add(n)
	}
	c.partition([]string{"a", "b", "/", "x"})
	c.round("a", "b", "x")
	own := c.nodes["x"].m.mine[c.nodes["x"].m.gen.Weights]
	clear(c.group)
	c.out.Reset()
	c.tick(time.Second) // a and b re-announce nothing yet; x still alone
	c.nodes["a"].m.reannounce()
	c.process(c.nodes["a"])
	c.deliver() // x gets a's record, which lacks x's contribution
	if !hasLine(c.out.String(), "x: publish contribution", short(own)) {
		t.Fatalf("x did not re-announce its left-out contribution:\n%s", c.out)
	}
	for i := 0; i < 8; i++ {
		c.tick(time.Second)
		c.deliver()
	}
	mustAgree(t, c)
	if h := c.nodes["a"].m.Head(); h.Round != 1 || h.Weight != 3 {
		t.Fatalf("the union with x's contribution was not adopted within 9 s: %+v\n%s", h, c.out)
	}
}
