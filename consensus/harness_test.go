package consensus

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// cluster is an in-memory swarm for traces and claim tests: synchronous
// delivery, a shared clock, and a node stand-in that answers every Ready
// (stores blocks, serves fetches from reachable peers, checks deltas
// against a bad list, models fusion as a hash of its inputs).
type cluster struct {
	t       testing.TB
	genesis []byte
	params  wire.Params
	spread  time.Duration
	spot    int
	nodes   map[string]*tnode
	order   []string
	now     time.Time
	outbox  []outMsg
	group   map[string]int // partition group per peer; all 0 when healed
	bad     map[cid.Cid]bool
	out     *strings.Builder
}

type tnode struct {
	name     string
	m        *Machine
	store    map[cid.Cid][]byte
	withhold bool
	down     bool
	fuses    int       // FuseJobs received
	holdFuse bool      // keep FuseJobs unanswered in held (a fusion in flight)
	held     []FuseJob // until release answers them
}

type outMsg struct {
	from    string
	payload []byte
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func rawCID(s string) cid.Cid {
	h, _ := multihash.Sum([]byte(s), multihash.SHA2_256, -1)
	return cid.NewCidV1(cid.Raw, h)
}

func newCluster(t testing.TB, p wire.Params) *cluster {
	g := wire.Genesis{Name: "trace", Model: "{}", Weights: rawCID("weights-0"), Params: p}
	b, err := g.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{t: t, genesis: b, params: p, nodes: map[string]*tnode{}, now: epoch,
		group: map[string]int{}, bad: map[cid.Cid]bool{}, out: &strings.Builder{}}
}

func (c *cluster) add(name string) *tnode {
	cfg := DefaultConfig(c.genesis, wire.SeededSigner(name))
	cfg.BuildSpread, cfg.SpotCheck, cfg.Seed = c.spread, c.spot, uint64(len(c.order))
	m, err := New(cfg, c.now)
	if err != nil {
		c.t.Fatal(err)
	}
	n := &tnode{name: name, m: m, store: map[cid.Cid][]byte{}}
	if old := c.nodes[name]; old != nil {
		n.store = old.store
	} else {
		c.order = append(c.order, name)
	}
	c.nodes[name] = n
	return n
}

// addObserver adds a peer without a signer: it verifies and follows the
// chain, ranks last for building and never contributes.
func (c *cluster) addObserver(name string) *tnode {
	cfg := DefaultConfig(c.genesis, nil)
	cfg.BuildSpread, cfg.SpotCheck, cfg.Seed = c.spread, c.spot, uint64(len(c.order))
	m, err := New(cfg, c.now)
	if err != nil {
		c.t.Fatal(err)
	}
	n := &tnode{name: name, m: m, store: map[cid.Cid][]byte{}}
	c.order = append(c.order, name)
	c.nodes[name] = n
	return n
}

func (c *cluster) printf(format string, args ...any) { fmt.Fprintf(c.out, format+"\n", args...) }

func (c *cluster) reachable(a, b string) bool {
	return c.group[a] == c.group[b] && !c.nodes[a].down && !c.nodes[b].down
}

// process answers n's Ready until it has none, printing what happened.
func (c *cluster) process(n *tnode) {
	for i := 0; n.m.HasReady(); i++ {
		if i > 100 {
			c.t.Fatalf("%s: Ready does not settle", n.name)
		}
		rd := n.m.Ready()
		n.m.Advance()
		c.handle(n, rd)
	}
}

func (c *cluster) handle(n *tnode, rd Ready) {
	for _, b := range rd.Persist {
		n.store[b.CID] = b.Data
	}
	for _, msg := range rd.Messages {
		a, _ := wire.DecodeAnnouncement(msg)
		c.printf("%s: publish %s %s", n.name, a.Kind, short(a.CID))
		c.outbox = append(c.outbox, outMsg{from: n.name, payload: msg})
	}
	for _, e := range rd.Events {
		c.printf("%s: %s", n.name, e)
	}
	for _, id := range rd.Fetch {
		c.fetch(n, id)
	}
	for _, ch := range rd.Check {
		c.check(n, ch)
	}
	for _, job := range rd.Fuse {
		c.fuse(n, job)
	}
}

func (c *cluster) fetch(n *tnode, id cid.Cid) {
	for _, name := range c.order {
		o := c.nodes[name]
		if b, ok := o.store[id]; ok && !o.withhold && (o == n || c.reachable(n.name, name)) {
			c.printf("%s: fetch %s from %s", n.name, short(id), name)
			c.step(n, Block{CID: id, Data: b})
			return
		}
	}
	c.printf("%s: fetch %s unavailable", n.name, short(id))
}

func (c *cluster) check(n *tnode, ch Check) {
	if c.bad[ch.Delta] {
		c.printf("%s: check %s bad", n.name, short(ch.Contribution))
		c.step(n, Checked{Contribution: ch.Contribution, Err: fmt.Errorf("norm above bound")})
		return
	}
	c.step(n, Checked{Contribution: ch.Contribution})
}

// modelFuse is the simulated fusion: a hash of base, rule and sorted inputs.
func modelFuse(job FuseJob) cid.Cid {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s", job.Base, job.Rule)
	for _, in := range job.Inputs {
		fmt.Fprintf(h, "|%s:%d", in.Delta, in.Examples)
	}
	return rawCID(fmt.Sprintf("fused-%x", h.Sum(nil)))
}

func (c *cluster) fuse(n *tnode, job FuseJob) {
	n.fuses++
	if n.holdFuse {
		c.printf("%s: fuse round=%d inputs=%d held", n.name, job.Round, len(job.Inputs))
		n.held = append(n.held, job)
		return
	}
	f := modelFuse(job)
	c.printf("%s: fuse round=%d inputs=%d -> %s", n.name, job.Round, len(job.Inputs), short(f))
	c.step(n, Fused{Key: job.Key, Fused: f})
}

// release answers the fusions n held so far, in order (later ones are
// held too while n.holdFuse is set).
func (c *cluster) release(n *tnode) {
	jobs := n.held
	n.held = nil
	for _, job := range jobs {
		f := modelFuse(job)
		c.printf("%s: fused round=%d inputs=%d -> %s", n.name, job.Round, len(job.Inputs), short(f))
		c.step(n, Fused{Key: job.Key, Fused: f})
	}
	c.process(n)
}

func (c *cluster) step(n *tnode, msg Message) {
	if err := n.m.Step(msg); err != nil {
		c.printf("%s: step error: %v", n.name, err)
	}
}

// deliver hands every queued message to every reachable peer, repeatedly,
// until no more messages are produced.
func (c *cluster) deliver() {
	for round := 0; len(c.outbox) > 0; round++ {
		if round > 50 {
			c.t.Fatal("delivery does not quiesce")
		}
		msgs := c.outbox
		c.outbox = nil
		for _, msg := range msgs {
			for _, name := range c.order {
				if name != msg.from && c.reachable(msg.from, name) {
					n := c.nodes[name]
					c.step(n, Gossip{From: c.nodes[msg.from].m.self, Payload: msg.payload})
					c.process(n)
				}
			}
		}
	}
}

func (c *cluster) tick(d time.Duration) {
	c.now = c.now.Add(d)
	for _, name := range c.order {
		if n := c.nodes[name]; !n.down {
			n.m.Tick(c.now)
			c.process(n)
		}
	}
}

// propose makes peer name contribute a delta trained on its head base.
// With late it uses the base of the head record (a round already closed).
func (c *cluster) propose(name string, bad, late bool) {
	n := c.nodes[name]
	h := n.m.Head()
	if late {
		h.Base = n.m.records[h.Record].r.Base
	}
	delta := rawCID(fmt.Sprintf("delta-%s-%s", name, h.Base))
	if bad {
		c.bad[delta] = true
	}
	c.step(n, Propose{Base: h.Base, Delta: delta, Task: "t-" + name, Examples: uint64(100 + len(name))})
	c.process(n)
}

func (c *cluster) heads() string {
	var b strings.Builder
	for _, name := range c.order {
		n := c.nodes[name]
		if n.down {
			continue
		}
		h := n.m.Head()
		fmt.Fprintf(&b, "%s: round=%d head=%s weight=%d final=%d\n", name, h.Round, short(h.Record), h.Weight, h.FinalRound)
	}
	return b.String()
}

// agree reports whether all live peers share a head.
func (c *cluster) agree() bool {
	var first cid.Cid
	for _, name := range c.order {
		if n := c.nodes[name]; !n.down {
			if !first.Defined() {
				first = n.m.Head().Record
			} else if !first.Equals(n.m.Head().Record) {
				return false
			}
		}
	}
	return true
}

func sortedNames(m map[string]*tnode) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedCIDs(m map[cid.Cid][]byte) []cid.Cid {
	out := make([]cid.Cid, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortCIDs(out)
	return out
}
