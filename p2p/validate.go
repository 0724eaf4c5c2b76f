package p2p

import (
	"context"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/coldnode/coldnode/p2p/envelope"
)

// validator is the pubsub topic validator: structural and signature checks,
// then freshness, then the caller's hook. It leaves the decoded envelope in
// ValidatorData for drain.
func (t *Topic) validator(_ context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	v, env := t.check(m, t.n.now())
	switch v {
	case Accept:
		t.accepted.Add(1)
		t.n.metrics.gossipResult("accepted")
		m.ValidatorData = env
		return pubsub.ValidationAccept
	case Ignore:
		t.ignored.Add(1)
		t.n.metrics.gossipResult("ignored")
		return pubsub.ValidationIgnore
	default:
		t.rejected.Add(1)
		t.n.metrics.gossipResult("rejected")
		t.n.log.Debug("gossip message rejected", "topic", t.full, "peer", m.ReceivedFrom)
		return pubsub.ValidationReject
	}
}

// check decides one message. Reject: oversized, malformed, bad signature,
// wrong swarm or topic, or signed by someone other than the pubsub author.
// Ignore: stale or from the future. Otherwise the caller's hook decides.
func (t *Topic) check(m *pubsub.Message, now time.Time) (Verdict, *envelope.Envelope) {
	if len(m.Data) > envelope.MaxSize {
		return Reject, nil
	}
	env, signer, err := envelope.Open(m.Data)
	if err != nil {
		return Reject, nil
	}
	if env.Swarm != t.swarm || env.Topic != t.full || signer != m.GetFrom() {
		return Reject, nil
	}
	sent := env.SentAt()
	g := t.n.cfg.Gossip
	if sent.Before(now.Add(-g.MaxAge)) || sent.After(now.Add(g.MaxSkew)) {
		return Ignore, nil
	}
	if t.validate == nil {
		return Accept, env
	}
	switch v := t.validate(signer, env.Payload); v {
	case Accept:
		return Accept, env
	case Ignore:
		return Ignore, nil
	default:
		return Reject, nil
	}
}
