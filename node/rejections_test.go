package node

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coldnode/coldnode/consensus"
	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/p2p"
	"github.com/coldnode/coldnode/p2p/envelope"
	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/model"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	dto "github.com/prometheus/client_model/go"
)

// Issue 7: every bad input a peer can send is turned away with a reason
// that is counted in coldnode_node_rejections_total{reason}, read here from
// a running node's /metrics endpoint. The genesis uses the default
// parameters but quorum 2 (the round waits for the honest contribution) and
// a norm bound of 3, about 10 x this tiny model's honest delta (the default
// bound is sized for the text models; TestDefaultNormBound): a real
// finetuned delta passes the node's check and is counted in round 1, while
// the same delta x100 is rejected as "norm".
func TestRejectionsCountedAtMetricsEndpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opt := DefaultInitOptions()
	opt.Model, opt.Task = "mlp", tinyTask()
	opt.Params.Quorum, opt.Params.Window, opt.Params.NormBound = 2, 0, 3
	sid, err := Init(ctx, dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	n := startMetered(t, dir, nil)
	a := newAttacker(t, n, mustCID(sid))
	want := map[string]float64{}
	a.gossipAttacks(t, want)
	honest := a.contributionAttacks(t, want)
	waitCounts(t, dir, want)
	rounds := waitRound(t, n, 1)
	if !hasContribution(rounds[0], honest) {
		t.Fatalf("round 1 %+v lacks the honest contribution %s", rounds[0], honest)
	}
	got := scrape(t, dir)
	for reason, w := range want {
		if got[reason] != w && !(reason == RejectFlood && got[reason] >= w) {
			t.Errorf("rejections{reason=%q} = %v, want %v", reason, got[reason], w)
		}
	}
	if got[RejectOther] != 0 {
		t.Errorf("%v rejections counted as other", got[RejectOther])
	}
	checkScoredDown(t, n, a.node.ID())
}

// checkScoredDown waits for n's gossipsub score of p to fall below 0: the
// misbehaviour it sent (here the x100 delta it signed, and the unsigned,
// tampered and other-swarm contributions it announced) lowered it.
func checkScoredDown(t *testing.T, n *Node, p peer.ID) {
	t.Helper()
	net, err := n.running()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, ok := net.host.PeerScore(p)
		if ok && s < 0 {
			t.Logf("attacker's gossipsub score %.1f", s)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("attacker's score %v (known %v) after 10s, want < 0", s, ok)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startMetered runs a node with its API and real metrics until the test ends.
func startMetered(t *testing.T, dir string, edit func(*Config)) *Node {
	t.Helper()
	repo, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Listen, cfg.API, cfg.NoMDNS, cfg.Epochs = []string{"/ip4/127.0.0.1/tcp/0"}, "127.0.0.1:0", true, 1
	cfg.BuildSpread, cfg.TickInterval, cfg.RetryEvery = 10*time.Millisecond, 20*time.Millisecond, time.Second
	if edit != nil {
		edit(&cfg)
	}
	n, err := New(repo, cfg, WithTask(tinyTask()), WithMetrics(NewMetrics()))
	if err != nil {
		t.Fatal(err)
	}
	runUntilCleanup(t, n, repo)
	return n
}

func runUntilCleanup(t *testing.T, n *Node, repo *Repo) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		repo.Close()
	})
	select {
	case <-n.Ready():
	case err := <-done:
		done <- err
		t.Fatalf("node stopped before it was ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("node not ready after 30s")
	}
}

// scrape reads coldnode_node_rejections_total by reason from /metrics.
func scrape(t *testing.T, dir string) map[string]float64 {
	t.Helper()
	addr, err := os.ReadFile(filepath.Join(dir, apiFile))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + strings.TrimSpace(string(addr)) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	const prefix = `coldnode_node_rejections_total{reason="`
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		reason, value, _ := strings.Cut(rest, `"} `)
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", sc.Text(), err)
		}
		out[reason] = v
	}
	if len(out) != len(RejectReasons) {
		t.Fatalf("/metrics has %d rejection reasons, want all %d at start: %v", len(out), len(RejectReasons), out)
	}
	return out
}

// waitCounts polls /metrics until every wanted reason reached its count.
func waitCounts(t *testing.T, dir string, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := scrape(t, dir)
		missing := []string{}
		for r, w := range want {
			if got[r] < w {
				missing = append(missing, fmt.Sprintf("%s %v/%v", r, got[r], w))
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rejections not counted after 60s: %v (all: %v)", missing, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitRound(t *testing.T, n *Node, round int) []RoundInfo {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		rs, err := n.Rounds(context.Background())
		if err == nil && len(rs) >= round {
			return rs
		}
		if time.Now().After(deadline) {
			t.Fatalf("round %d not closed after 60s (rounds %v, err %v)", round, rs, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hasContribution(ri RoundInfo, c cid.Cid) bool {
	for _, ci := range ri.Contributions {
		if ci.CID == c.String() {
			return true
		}
	}
	return false
}

// attacker is a p2p node in the swarm (it serves the files it imports)
// plus raw libp2p hosts that publish arbitrary bytes on the swarm topic.
type attacker struct {
	n       *Node
	node    *p2p.Node
	self    *wire.KeySigner // the attacker's host identity
	topic   *p2p.Topic
	swarm   cid.Cid
	genesis *wire.Genesis
	weights *checkpoint.File
}

func newAttacker(t *testing.T, n *Node, swarm cid.Cid) *attacker {
	t.Helper()
	return newAttackerIn(t, n, swarm, t.TempDir())
}

// newAttackerIn starts the attacker's p2p node with the identity in dir.
func newAttackerIn(t *testing.T, n *Node, swarm cid.Cid, dir string) *attacker {
	t.Helper()
	ctx := context.Background()
	h := testHost(t, dir, nil)
	h.ServeDAG()
	if err := h.Connect(ctx, n.Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	net := &network{host: h}
	if err := net.joinRounds(swarm, nil); err != nil {
		t.Fatal(err)
	}
	key, err := p2p.LoadOrCreateIdentity(filepath.Join(dir, "identity.key"))
	if err != nil {
		t.Fatal(err)
	}
	self, err := wire.NewKeySigner(key)
	if err != nil {
		t.Fatal(err)
	}
	a := &attacker{n: n, node: h, self: self, topic: net.topic, swarm: swarm}
	gb, err := h.Blocks().GetBlock(ctx, swarm)
	if err != nil {
		t.Fatal(err)
	}
	if a.genesis, err = wire.DecodeGenesis(gb.RawData()); err != nil {
		t.Fatal(err)
	}
	a.weights = a.fetchFile(t, a.genesis.Weights)
	return a
}

func (a *attacker) fetchFile(t *testing.T, c cid.Cid) *checkpoint.File {
	t.Helper()
	ctx := context.Background()
	if _, err := a.node.Blocks().Fetch(ctx, c, 1<<30, nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := a.node.Blocks().Export(ctx, c, &buf); err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// gossipAttacks sends, from three raw hosts, each kind of bad envelope and
// bad announcement, then floods. Three hosts: six invalid messages from one
// would graylist it before the last is validated.
func (a *attacker) gossipAttacks(t *testing.T, want map[string]float64) {
	t.Helper()
	topic := wire.Topic(a.swarm)
	swarm, _, err := roundsTopic(a.swarm)
	if err != nil {
		t.Fatal(err)
	}
	r1, r2, r3 := newRawPeer(t, a.n, topic), newRawPeer(t, a.n, topic), newRawPeer(t, a.n, topic)
	now := time.Now()
	good, _ := envelope.Seal(r1.key, swarm, topic, []byte("x"), now)
	forged, _ := envelope.Decode(good)
	forged.Payload = []byte("changed after signing")
	forgedBytes, _ := forged.Encode()
	otherSwarm := wire.Announcement{Swarm: wire.CIDOf([]byte("another genesis")), Kind: wire.KindRecord, CID: a.swarm}
	otherAnn, err := otherSwarm.Encode()
	if err != nil {
		t.Fatal(err)
	}
	r1.send(t, []byte("not an envelope"))                                            // p2p: malformed
	r1.send(t, append(append([]byte{}, good...), make([]byte, envelope.MaxSize)...)) // p2p: oversize
	r1.send(t, forgedBytes)                                                          // p2p: signature
	wrongTopic, _ := envelope.Seal(r2.key, swarm, topic+"x", []byte("p"), now)
	r2.send(t, wrongTopic)                                    // p2p: wrong_topic
	r2.sealed(t, swarm, topic, []byte("not an announcement")) // node validator: malformed
	r2.sealed(t, swarm, topic, otherAnn)                      // node validator: wrong_swarm
	want[RejectMalformed] += 2
	want[RejectOversize]++
	want[RejectSignature]++
	want[RejectWrongTopic]++
	want[RejectWrongSwarm]++
	// The flood: harmless announcements (of the genesis) far over the
	// default limit of 100 at once and 10 a second.
	flood := wire.Announcement{Swarm: a.swarm, Kind: wire.KindRecord, CID: a.swarm}
	fb, err := flood.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		b, _ := envelope.Seal(r3.key, swarm, topic, fb, now.Add(time.Duration(i)))
		r3.publish(t, b)
	}
	want[RejectFlood] = 1 // at least: how many pass pubsub's queue varies
}

// contributionAttacks signs contributions on the genesis weights, each by a
// fresh key (two by one key on one base would be an equivocation, which is
// tested on purpose once), and announces them with their blocks inline. It
// returns the CID of the honest contribution.
func (a *attacker) contributionAttacks(t *testing.T, want map[string]float64) cid.Cid {
	t.Helper()
	honest := a.honestDelta(t)
	x100 := scaled(t, honest, 100)
	checkNorms(t, honest, x100, a.genesis.Params.NormBound)
	shape := encodeDelta(t, checkpoint.NewF32("body.bogus", []int{3}, []float32{0.1, 0.2, 0.3}))
	f16 := retyped(t, a.weights)
	nan := scaledWith(t, honest, func(i int, v float32) float32 {
		if i == 0 {
			return float32(math.NaN())
		}
		return v
	})
	bad := []struct {
		reason string
		delta  []byte
	}{
		{RejectNorm, x100}, {RejectShape, shape}, {RejectDType, f16}, {RejectNonFinite, nan},
		{RejectMalformed, []byte("not a safetensors file")},
	}
	for _, b := range bad {
		s := newSigner(t)
		if b.reason == RejectNorm {
			s = a.self // the one bad delta signed by the attacker's own host
		}
		a.contribute(t, s, a.importBytes(t, b.delta), 1, nil)
		want[b.reason]++
	}
	delta := a.importBytes(t, honest)
	a.announce(t, stripSig(t, a.contributionBlock(t, newSigner(t), delta, 1, func(c *wire.Contribution) { c.Sig = []byte{7} })))
	a.contribute(t, newSigner(t), delta, 1, func(c *wire.Contribution) { c.Task = "changed after signing" })
	want[RejectSignature] += 2
	two := newSigner(t)
	a.contribute(t, two, delta, 1, nil)
	a.contribute(t, two, a.importBytes(t, scaled(t, honest, 0.5)), 1, nil)
	want[RejectEquivocation]++
	a.contribute(t, newSigner(t), delta, 5, nil) // round 5 on the genesis weights, which end round 0
	want[RejectWrongRound]++
	a.contributeSwarm(t, newSigner(t), wire.CIDOf([]byte("another genesis")), delta)
	want[RejectWrongSwarm]++
	return a.contribute(t, newSigner(t), delta, 1, nil)
}

// honestDelta finetunes the genesis body on the task for one epoch, as a
// node does, and returns the encoded body delta.
func (a *attacker) honestDelta(t *testing.T) []byte {
	t.Helper()
	opt := train.DefaultOptions()
	opt.Epochs = 1
	res, err := train.Finetune(context.Background(), a.weights, tinyTask(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := train.Delta(a.weights, res.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := checkpoint.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkNorms requires the honest delta to be under the swarm's norm bound
// and the x100 one over it, so the test shows the bound separating them.
func checkNorms(t *testing.T, honest, x100 []byte, bound float64) {
	t.Helper()
	h, x := bodyNormOf(t, honest), bodyNormOf(t, x100)
	t.Logf("honest delta norm %.3g, x100 %.3g, bound %.3g", h, x, bound)
	if !(h <= bound && x > bound) {
		t.Fatalf("norm bound %v does not separate the honest delta (%v) from the x100 one (%v)", bound, h, x)
	}
}

func bodyNormOf(t *testing.T, b []byte) float64 {
	t.Helper()
	f, err := checkpoint.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var ss float64
	for _, ts := range f.Tensors {
		if checkpoint.IsHead(ts.Name) {
			continue
		}
		v, err := ts.F32()
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
	}
	return math.Sqrt(ss)
}

func scaled(t *testing.T, b []byte, k float32) []byte {
	return scaledWith(t, b, func(_ int, v float32) float32 { return v * k })
}

// scaledWith maps every body value of delta b (numbered across tensors).
func scaledWith(t *testing.T, b []byte, fn func(int, float32) float32) []byte {
	t.Helper()
	f, err := checkpoint.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for j, ts := range f.Tensors {
		v, err := ts.F32()
		if err != nil {
			t.Fatal(err)
		}
		for e := range v {
			v[e] = fn(i, v[e])
			i++
		}
		f.Tensors[j] = checkpoint.NewF32(ts.Name, ts.Shape, v)
	}
	out, err := checkpoint.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// retyped is a zero delta of the genesis body layout with its first body
// tensor stored as F16 instead of F32.
func retyped(t *testing.T, w *checkpoint.File) []byte {
	t.Helper()
	var ts []checkpoint.Tensor
	for i, x := range w.Tensors {
		if checkpoint.IsHead(x.Name) {
			continue
		}
		if i == 0 {
			ts = append(ts, checkpoint.Tensor{Name: x.Name, DType: checkpoint.F16, Shape: x.Shape, Data: make([]byte, 2*x.Elems())})
			continue
		}
		ts = append(ts, checkpoint.NewF32(x.Name, x.Shape, make([]float32, x.Elems())))
	}
	return encodeDelta(t, ts...)
}

func (a *attacker) importBytes(t *testing.T, b []byte) cid.Cid {
	t.Helper()
	c, err := a.node.Blocks().ImportBytes(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newSigner(t *testing.T) *wire.KeySigner {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := wire.NewKeySigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// contributionBlock signs a contribution of delta for round on the genesis
// weights; edit, if not nil, changes it after signing.
func (a *attacker) contributionBlock(t *testing.T, s *wire.KeySigner, delta cid.Cid, round uint64, edit func(*wire.Contribution)) []byte {
	t.Helper()
	return signedBlock(t, s, wire.Contribution{Swarm: a.swarm, Round: round, Base: a.genesis.Weights, Delta: delta, Task: "tiny", Examples: 10}, edit)
}

func signedBlock(t *testing.T, s *wire.KeySigner, c wire.Contribution, edit func(*wire.Contribution)) []byte {
	t.Helper()
	if err := c.Sign(s); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&c)
	}
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stripSig removes the "sig" entry (a 1-byte signature, 7) from a
// contribution's canonical dag-cbor map: an unsigned block.
func stripSig(t *testing.T, block []byte) []byte {
	t.Helper()
	entry := []byte{0x63, 's', 'i', 'g', 0x41, 7}
	i := bytes.Index(block, entry)
	if i < 0 || block[0] < 0xa1 || block[0] > 0xb7 {
		t.Fatalf("no sig entry in %x", block)
	}
	out := append([]byte{block[0] - 1}, block[1:i]...)
	return append(out, block[i+len(entry):]...)
}

func (a *attacker) contribute(t *testing.T, s *wire.KeySigner, delta cid.Cid, round uint64, edit func(*wire.Contribution)) cid.Cid {
	t.Helper()
	b := a.contributionBlock(t, s, delta, round, edit)
	a.announce(t, b)
	return wire.CIDOf(b)
}

// contributeSwarm announces, on this swarm's topic, a contribution signed
// for another swarm.
func (a *attacker) contributeSwarm(t *testing.T, s *wire.KeySigner, other cid.Cid, delta cid.Cid) {
	t.Helper()
	b := signedBlock(t, s, wire.Contribution{Swarm: other, Round: 1, Base: a.genesis.Weights, Delta: delta, Task: "tiny", Examples: 10}, nil)
	a.announce(t, b)
}

func (a *attacker) announce(t *testing.T, block []byte) {
	t.Helper()
	an := wire.Announce(a.swarm, wire.KindContribution, block)
	ann, err := an.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.topic.Publish(context.Background(), ann); err != nil {
		t.Fatal(err)
	}
}

// rawPeer is a bare libp2p host with a gossipsub router and none of
// coldnode's validators: it publishes whatever bytes it is given.
type rawPeer struct {
	h     host.Host
	key   crypto.PrivKey
	topic *pubsub.Topic
}

func newRawPeer(t *testing.T, n *Node, topic string) *rawPeer {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); h.Close() })
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithFloodPublish(true))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := ps.Join(topic)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := tp.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Cancel)
	info, err := peer.AddrInfoFromString(n.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Connect(ctx, *info); err != nil {
		t.Fatal(err)
	}
	return &rawPeer{h: h, key: key, topic: tp}
}

// send publishes data once the node is in the raw peer's topic.
func (r *rawPeer) send(t *testing.T, data []byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(r.topic.ListPeers()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the node never joined the raw peer's topic")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.publish(t, data)
}

func (r *rawPeer) publish(t *testing.T, data []byte) {
	t.Helper()
	if err := r.topic.Publish(context.Background(), data); err != nil {
		t.Fatal(err)
	}
}

// sealed sends payload in a valid envelope signed by the raw peer.
func (r *rawPeer) sealed(t *testing.T, swarm, topic string, payload []byte) {
	t.Helper()
	b, err := envelope.Seal(r.key, swarm, topic, payload, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.send(t, b)
}

// The classifier maps the state machine's causes and phrasings onto the
// bounded label set; unknown text counts as other.
func TestEventReasonLabels(t *testing.T) {
	for _, tc := range []struct {
		cause  consensus.Cause
		reason string
		want   string
	}{
		{consensus.CauseReplay, "replayed: round 1 is final (final round 3)", RejectReplay},
		{consensus.CauseUnknownBase, "unknown base x: ...", RejectUnknownBase},
		{consensus.CauseWrongRound, "round 5 on base x, which ends round 0", RejectWrongRound},
		{consensus.CauseConflict, "round 1 conflicts with the final record of round 2", RejectConflict},
		{consensus.CauseRecord, "forged: fused CID a, recomputed b", RejectForged},
		{consensus.CauseRecord, "parent record is invalid", RejectRecord},
		{consensus.CauseInvalid, "peer 12D3 is not on the allowlist", RejectNotAllowed},
		{consensus.CauseInvalid, "contribution for another swarm", RejectWrongSwarm},
		{consensus.CauseInvalid, `decode contribution: wire: malformed: contribution has no field "sig"`, RejectSignature},
		{consensus.CauseInvalid, "verify contribution from 12D3: wire: bad signature", RejectSignature},
		{consensus.CauseInvalid, "decode contribution: wire: malformed: cbor", RejectMalformed},
		{consensus.CauseDelta, "delta check: delta norm 400 exceeds the swarm's bound 20", RejectNorm},
		{consensus.CauseFusion, `fusion: delta x: tensor "body.w": fusion: non-finite value`, RejectNonFinite},
		{consensus.CauseFusion, "fusion: delta x: fusion: delta does not match base: dtype F16, base has F32", RejectDType},
		{consensus.CauseFusion, "fusion: delta x: fusion: delta does not match base: shape [2], base has [4]", RejectShape},
		{"", "something new", RejectOther},
	} {
		if got := eventReason(consensus.Rejected{Cause: tc.cause, Reason: tc.reason}); got != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.cause, tc.reason, got, tc.want)
		}
	}
	m := NoopMetrics()
	m.Rejected("not a label")
	var got dto.Metric
	if err := m.Rejections.WithLabelValues(RejectOther).Write(&got); err != nil || got.GetCounter().GetValue() != 1 {
		t.Errorf("an unknown reason counted %v times as other, want 1 (%v)", got.GetCounter().GetValue(), err)
	}
}

// The rejections that need a chain moving to finality, and an allowlist:
// a contribution of a final round sent again (replay), one on a base no
// record ever had once its round is final (unknown_base), a record
// conflicting with the final chain (conflict), and a contribution by a peer
// outside the genesis allowlist (not_allowed). The node closes rounds alone
// (quorum 1); the attacker's host is on the allowlist so it can connect.
func TestFinalityRejectionsCounted(t *testing.T) {
	ctx := context.Background()
	dir, adir := t.TempDir(), t.TempDir()
	opt := DefaultInitOptions()
	opt.Model, opt.Task = "mlp", tinyTask()
	opt.Params.Quorum, opt.Params.Window = 1, 0
	opt.Params.Allow = sortedIDs(peerOf(t, dir), peerOf(t, adir))
	sid, err := Init(ctx, dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	n := startMetered(t, dir, nil)
	a := newAttackerIn(t, n, mustCID(sid), adir)
	allowed := a.self
	rounds := waitRound(t, n, 2+int(opt.Params.Finality)) // round 2 is final
	delta := a.importBytes(t, a.honestDelta(t))
	a.contribute(t, allowed, delta, 1, nil) // round 1 is final: a replay
	a.contribute(t, newSigner(t), delta, uint64(len(rounds)+1), nil)
	unknown := signedBlock(t, allowed, wire.Contribution{Swarm: a.swarm, Round: uint64(len(rounds) + 1),
		Base: wire.CIDOf([]byte("no such base")), Delta: delta, Task: "tiny", Examples: 10}, nil)
	a.announce(t, unknown)
	a.announceRecord(t, wire.Record{Swarm: a.swarm, Round: 1, Parent: a.swarm, Base: a.genesis.Weights,
		Contributions: []cid.Cid{wire.CIDOf(unknown)}, Fused: delta})
	want := map[string]float64{RejectReplay: 1, RejectNotAllowed: 1, RejectUnknownBase: 1, RejectConflict: 1}
	waitCounts(t, dir, want)
	got := scrape(t, dir)
	for reason, w := range want {
		if got[reason] != w {
			t.Errorf("rejections{reason=%q} = %v, want %v", reason, got[reason], w)
		}
	}
	if got[RejectOther] != 0 {
		t.Errorf("%v rejections counted as other", got[RejectOther])
	}
}

func (a *attacker) announceRecord(t *testing.T, r wire.Record) {
	t.Helper()
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	an := wire.Announce(a.swarm, wire.KindRecord, b)
	ann, err := an.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.topic.Publish(context.Background(), ann); err != nil {
		t.Fatal(err)
	}
}

// The default norm bound against a real honest delta: the bag model `coldnode
// init` creates, finetuned on sst2 (2,000 examples) with the node's default
// training options, passes the node's check; the same delta x100 is
// rejected with reason norm.
func TestDefaultNormBound(t *testing.T) {
	task, err := data.Load("../../shared/datasets/sst2", data.DefaultOptions())
	if err != nil {
		t.Fatalf("the test reads the shared datasets beside the repository: %v", err)
	}
	cfg, err := model.DefaultConfig(model.Bag, task)
	if err != nil {
		t.Fatal(err)
	}
	body, err := model.InitBody(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	opt := train.DefaultOptions()
	opt.MaxTrain = 2000
	res, err := train.Finetune(context.Background(), body, task, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := train.Delta(body, res.Body)
	if err != nil {
		t.Fatal(err)
	}
	honest, err := checkpoint.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	x100 := scaled(t, honest, 100)
	checkNorms(t, honest, x100, DefaultNormBound)
	if err := checkDelta(honest, DefaultNormBound); err != nil {
		t.Fatalf("honest delta rejected: %v", err)
	}
	if err := checkDelta(x100, DefaultNormBound); err == nil || checkReason(err) != RejectNorm {
		t.Fatalf("x100 delta: %v, want a rejection with reason norm", err)
	}
}
