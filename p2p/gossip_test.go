package p2p

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/coldnode/coldnode/p2p/envelope"
)

func TestGossipDeliveredAndValidated(t *testing.T) {
	a, b, c := newTestNode(t, nil), newTestNode(t, nil), newTestNode(t, nil)
	connectAll(t, a, b, c)
	veto := func(_ peer.ID, p []byte) Verdict {
		if bytes.HasPrefix(p, []byte("veto")) {
			return Reject
		}
		return Accept
	}
	ta, err := a.Join("s1", TopicHeads, nil)
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := b.Join("s1", TopicHeads, veto)
	tc, _ := c.Join("s1", TopicHeads, veto)
	// Flood publish reaches every peer a knows to be in the topic.
	eventually(t, 10*time.Second, "a to see both subscribers", func() bool { return len(ta.Peers()) == 2 })
	ctx := context.Background()
	if err := ta.Publish(ctx, []byte("veto this")); err != nil {
		t.Fatal(err)
	}
	if err := ta.Publish(ctx, []byte("head 1")); err != nil {
		t.Fatal(err)
	}
	for _, tp := range []*Topic{tb, tc} {
		m := recv(t, tp.Messages(), 10*time.Second)
		if string(m.Payload) != "head 1" || m.From != a.ID() || m.Local {
			t.Fatalf("got %q from %s (local %v), want \"head 1\" from %s", m.Payload, m.From, m.Local, a.ID())
		}
		eventually(t, 5*time.Second, "the vetoed payload rejected", func() bool { return tp.Stats().Rejected == 1 })
	}
	own := recvPayload(t, ta.Messages(), []byte("head 1"), 5*time.Second)
	if !own.Local {
		t.Fatal("own publish not marked Local")
	}
}

func TestJoinNames(t *testing.T) {
	a := newTestNode(t, nil)
	if _, err := a.Join("bad/swarm", TopicHeads, nil); err == nil {
		t.Fatal("joined a swarm name with a slash")
	}
	tp, err := a.Join("s", TopicContributions, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tp.Name() != "/coldnode/s/contributions" {
		t.Fatalf("topic name %q", tp.Name())
	}
	if _, err := a.Join("s", TopicContributions, nil); err == nil {
		t.Fatal("joined the same topic twice")
	}
}

// A full swarm CID and a multi-segment name make the protocol's topic
// /coldnode/<swarm CID>/rounds/v1; malformed names are refused.
func TestJoinFullCIDTopic(t *testing.T) {
	a := newTestNode(t, nil)
	swarm := "bafyreigdmqpykrgxyaxtlafqpqhzrb7qy2rh75nldvfd4tucqmqqme5yje"
	tp, err := a.Join(swarm, "rounds/v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "/coldnode/" + swarm + "/rounds/v1"; tp.Name() != want {
		t.Fatalf("topic %q, want %q", tp.Name(), want)
	}
	bad := [][2]string{
		{swarm, "rounds//v1"}, {swarm, "/rounds"}, {swarm, "rounds/"}, {swarm, "a/../b"},
		{swarm, "a/./b"}, {swarm, "spa ce"}, {swarm + strings.Repeat("x", 10), "rounds"},
		{"bad/swarm", "rounds"}, {swarm, strings.Repeat("abcdefgh/", 8) + "x"},
	}
	for _, b := range bad {
		if _, err := a.Join(b[0], b[1], nil); err == nil {
			t.Errorf("joined swarm %q topic %q", b[0], b[1])
		}
	}
}

func TestPublishWithoutPeersIsAnError(t *testing.T) {
	a := newTestNode(t, nil)
	tp, _ := a.Join("s", TopicHeads, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := tp.Publish(ctx, []byte("x")); !errors.Is(err, ErrNoPeers) {
		t.Fatalf("err = %v, want ErrNoPeers", err)
	}
	if err := tp.Publish(context.Background(), make([]byte, envelope.MaxSize)); !errors.Is(err, envelope.ErrTooLarge) {
		t.Fatalf("oversized publish: err = %v, want envelope.ErrTooLarge", err)
	}
}

// rogue is a bare libp2p host with a gossipsub router that has none of
// coldnode's validators: it publishes whatever bytes it is given.
type rogue struct {
	h     host.Host
	key   crypto.PrivKey
	topic *pubsub.Topic
}

func newRogue(t *testing.T, topic string) *rogue {
	key := testKey(t)
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
	sub, _ := tp.Subscribe()
	t.Cleanup(sub.Cancel)
	return &rogue{h: h, key: key, topic: tp}
}

func (r *rogue) connect(t *testing.T, n *Node) {
	t.Helper()
	if err := r.h.Connect(context.Background(), peer.AddrInfo{ID: n.ID(), Addrs: n.host.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// send floods data to every peer in the topic (the rogue ignores meshes, so
// being pruned for misbehaving does not stop it).
func (r *rogue) send(t *testing.T, data []byte) {
	t.Helper()
	eventually(t, 10*time.Second, "a peer in the rogue's topic", func() bool { return len(r.topic.ListPeers()) > 0 })
	if err := r.topic.Publish(context.Background(), data); err != nil {
		t.Fatal(err)
	}
}

// TestGossipRejectsBadEnvelopes has two rogue peers send each kind of bad
// message. Two rogues, three bad messages each: peer scoring graylists a
// sender after six invalid messages, and later ones would then be dropped
// unvalidated (and uncounted).
func TestGossipRejectsBadEnvelopes(t *testing.T) {
	full := TopicName("s2", TopicContributions)
	r1, r2 := newRogue(t, full), newRogue(t, full)
	b := newTestNode(t, nil)
	tb, _ := b.Join("s2", TopicContributions, nil)
	r1.connect(t, b)
	r2.connect(t, b)
	now := time.Now()
	good, _ := envelope.Seal(r1.key, "s2", full, []byte("good"), now)
	r1.send(t, good)
	if m := recv(t, tb.Messages(), 10*time.Second); string(m.Payload) != "good" {
		t.Fatalf("got %q, want the well-formed message", m.Payload)
	}
	unsigned, _ := envelope.Decode(good)
	unsigned.Payload = []byte("forged")
	forged, _ := unsigned.Encode()
	wrongSwarm, _ := envelope.Seal(r2.key, "other", full, []byte("p"), now)
	wrongTopic, _ := envelope.Seal(r2.key, "s2", TopicName("s2", "heads"), []byte("p"), now)
	otherSigner, _ := envelope.Seal(testKey(t), "s2", full, []byte("p"), now)
	stale, _ := envelope.Seal(r2.key, "s2", full, []byte("stale"), now.Add(-time.Hour))
	r1.send(t, []byte("not an envelope"))
	r1.send(t, append(good, make([]byte, envelope.MaxSize)...)) // oversized
	r1.send(t, forged)                                          // signature does not cover the payload
	r2.send(t, wrongSwarm)
	r2.send(t, wrongTopic)
	r2.send(t, otherSigner) // signer is not the pubsub author
	r2.send(t, stale)
	eventually(t, 10*time.Second, "all bad messages validated", func() bool {
		st := tb.Stats()
		return st.Rejected+st.Ignored >= 7
	})
	if st := tb.Stats(); st.Ignored != 1 || st.Rejected != 6 || st.Accepted != 1 {
		t.Fatalf("stats %+v, want 1 accepted, 6 rejected and 1 ignored", st)
	}
	select {
	case m := <-tb.Messages():
		t.Fatalf("delivered a bad message: %q", m.Payload)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestValidatorHookIgnore(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	connectAll(t, a, b)
	ta, _ := a.Join("s3", TopicHeads, nil)
	tb, _ := b.Join("s3", TopicHeads, func(_ peer.ID, p []byte) Verdict {
		if string(p) == "dup" {
			return Ignore
		}
		return Accept
	})
	ctx := context.Background()
	eventually(t, 10*time.Second, "a to see b's subscription", func() bool { return len(ta.Peers()) == 1 })
	if err := ta.Publish(ctx, []byte("dup")); err != nil {
		t.Fatal(err)
	}
	if err := ta.Publish(ctx, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, tb.Messages(), 10*time.Second); string(m.Payload) != "new" {
		t.Fatalf("got %q, want \"new\"", m.Payload)
	}
	eventually(t, 5*time.Second, "the ignored message counted", func() bool { return tb.Stats().Ignored == 1 })
	if st := tb.Stats(); st.Rejected != 0 || st.Accepted != 1 {
		t.Fatalf("stats %+v, want 1 accepted, 1 ignored", st)
	}
}

func TestReannounce(t *testing.T) {
	a := newTestNode(t, nil)
	ta, _ := a.Join("s4", TopicHeads, nil)
	if err := ta.Reannounce(100*time.Millisecond, func() [][]byte { return [][]byte{[]byte("held")} }); err != nil {
		t.Fatal(err)
	}
	if err := ta.Reannounce(time.Second, func() [][]byte { return nil }); err == nil {
		t.Fatal("second re-announcer accepted")
	}
	// A late joiner receives the re-announcement without any new publish.
	b := newTestNode(t, nil)
	tb, _ := b.Join("s4", TopicHeads, nil)
	connectAll(t, a, b)
	if m := recv(t, tb.Messages(), 15*time.Second); string(m.Payload) != "held" || m.From != a.ID() {
		t.Fatalf("got %q from %s", m.Payload, m.From)
	}
}

func TestStaleAndFutureMessagesIgnored(t *testing.T) {
	ctx := context.Background()
	a := newTestNode(t, nil)
	late := startNodeOpts(t, WithClock(func() time.Time { return time.Now().Add(time.Hour) }))
	early := startNodeOpts(t, WithClock(func() time.Time { return time.Now().Add(-5 * time.Minute) }))
	connectAll(t, a, late, early)
	ta, _ := a.Join("s5", TopicHeads, nil)
	tl, _ := late.Join("s5", TopicHeads, nil)
	te, _ := early.Join("s5", TopicHeads, nil)
	// Neither receiver forwards what it ignores: a must reach both directly.
	eventually(t, 10*time.Second, "a to see both subscribers", func() bool { return len(ta.Peers()) == 2 })
	if err := ta.Publish(ctx, []byte("now")); err != nil {
		t.Fatal(err)
	}
	for name, tp := range map[string]*Topic{"an hour later": tl, "five minutes earlier": te} {
		eventually(t, 10*time.Second, name+" ignoring the message", func() bool { return tp.Stats().Ignored == 1 })
		if st := tp.Stats(); st.Accepted != 0 || st.Rejected != 0 {
			t.Fatalf("%s: stats %+v, want only 1 ignored", name, st)
		}
	}
}

func startNodeOpts(t *testing.T, opts ...Option) *Node {
	t.Helper()
	n, err := New(context.Background(), testConfig(), testKey(t), t.TempDir(), nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestScoringGraylistsAbusers checks that peer scoring is on: after a peer
// sends six invalid messages (score -3600 < GraylistThreshold), even its
// well-formed messages are dropped, while an honest peer's still arrive.
func TestScoringGraylistsAbusers(t *testing.T) {
	full := TopicName("s6", TopicHeads)
	r := newRogue(t, full)
	b, honest := newTestNode(t, nil), newTestNode(t, nil)
	tb, _ := b.Join("s6", TopicHeads, nil)
	th, _ := honest.Join("s6", TopicHeads, nil)
	r.connect(t, b)
	connectAll(t, b, honest)
	for i := range 6 {
		r.send(t, []byte{byte(i), 'j', 'u', 'n', 'k'})
	}
	eventually(t, 10*time.Second, "six rejections", func() bool { return tb.Stats().Rejected == 6 })
	good, _ := envelope.Seal(r.key, "s6", full, []byte("from abuser"), time.Now())
	r.send(t, good)
	if err := th.Publish(context.Background(), []byte("from honest")); err != nil {
		t.Fatal(err)
	}
	m := recv(t, tb.Messages(), 10*time.Second)
	if string(m.Payload) != "from honest" {
		t.Fatalf("got %q first, want the honest peer's message", m.Payload)
	}
	select {
	case m := <-tb.Messages():
		t.Fatalf("delivered %q from a graylisted peer", m.Payload)
	case <-time.After(500 * time.Millisecond):
	}
	if st := tb.Stats(); st.Accepted != 1 {
		t.Fatalf("stats %+v: the graylisted peer's message reached validation", st)
	}
}
