package p2p

import (
	"context"
	"errors"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/coldnode/coldnode/p2p/envelope"
)

// Reasons the topic validator gives for the messages it turns away itself
// (WithRejections); what a topic's own Validator rejects is that
// validator's to explain.
const (
	ReasonOversize  = "oversize"    // larger than envelope.MaxSize
	ReasonMalformed = "malformed"   // not a well-formed envelope
	ReasonSignature = "signature"   // bad envelope signature, or signed by someone other than the pubsub author
	ReasonTopic     = "wrong_topic" // sealed for another swarm or topic
	ReasonFlood     = "flood"       // over the author's rate limit (ignored, not rejected)
)

// validator is the pubsub topic validator: the author's rate limit, then
// structural and signature checks, then freshness, then the caller's hook.
// It leaves the decoded envelope in ValidatorData for drain.
//
// A message over its author's rate limit is ignored, not rejected: Reject
// would penalise the peer that forwarded it, which may be an honest relay
// whose own limit the message was within. The author pays instead, through
// the application-specific score (guard.appScore).
func (t *Topic) validator(_ context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if !t.n.guard.allow(m.GetFrom()) {
		t.throttled.Add(1)
		t.n.metrics.gossipResult("throttled")
		t.n.rejected(m.GetFrom(), ReasonFlood)
		return pubsub.ValidationIgnore
	}
	v, env, reason := t.check(m, t.n.now())
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
		t.n.log.Debug("gossip message rejected", "topic", t.full, "peer", m.ReceivedFrom, "reason", reason)
		if reason != "" {
			t.n.rejected(m.GetFrom(), reason)
		}
		return pubsub.ValidationReject
	}
}

// check decides one message. Reject: oversized, malformed, bad signature,
// wrong swarm or topic, or signed by someone other than the pubsub author
// (with the reason), or rejected by the caller's hook (no reason). Ignore:
// stale or from the future. Otherwise the caller's hook decides.
func (t *Topic) check(m *pubsub.Message, now time.Time) (Verdict, *envelope.Envelope, string) {
	if len(m.Data) > envelope.MaxSize {
		return Reject, nil, ReasonOversize
	}
	env, signer, err := envelope.Open(m.Data)
	if errors.Is(err, envelope.ErrSignature) {
		return Reject, nil, ReasonSignature
	}
	if err != nil {
		return Reject, nil, ReasonMalformed
	}
	if signer != m.GetFrom() {
		return Reject, nil, ReasonSignature
	}
	if env.Swarm != t.swarm || env.Topic != t.full {
		return Reject, nil, ReasonTopic
	}
	sent := env.SentAt()
	g := t.n.cfg.Gossip
	if sent.Before(now.Add(-g.MaxAge)) || sent.After(now.Add(g.MaxSkew)) {
		return Ignore, nil, ""
	}
	if t.validate == nil {
		return Accept, env, ""
	}
	switch v := t.validate(signer, env.Payload); v {
	case Accept:
		return Accept, env, ""
	case Ignore:
		return Ignore, nil, ""
	default:
		return Reject, nil, ""
	}
}

// rejected reports a message turned away to the WithRejections observer.
func (n *Node) rejected(from peer.ID, reason string) {
	if n.reject != nil {
		n.reject(from, reason)
	}
}
