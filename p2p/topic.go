package p2p

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/coldnode/coldnode/p2p/envelope"
)

// Standard topic names; the full topic is TopicName(swarm, name).
const (
	TopicContributions = "contributions"
	TopicHeads         = "heads"
)

// Verdict is a validator's decision on one message.
type Verdict int

// Verdicts, mirroring pubsub: Accept delivers and forwards; Reject drops and
// penalises the forwarding peer; Ignore drops without penalty (duplicates,
// stale or not-yet-useful messages).
const (
	Accept Verdict = iota
	Reject
	Ignore
)

// Validator inspects a payload signed by from. It runs on the gossip path for
// every message, including our own publishes, so it must be cheap and must not
// block; fetch by CID elsewhere.
type Validator func(from peer.ID, payload []byte) Verdict

// Message is a validated gossip message.
type Message struct {
	From    peer.ID   // the signer of the envelope (its author)
	Payload []byte    // the opaque payload
	Sent    time.Time // the author's clock when it was sealed
	Local   bool      // published by this node
}

// Stats counts what a topic's validator and reader did. Throttled messages
// (over their author's rate limit) are ignored but counted apart from
// Ignored.
type Stats struct {
	Accepted, Rejected, Ignored, Dropped, Throttled uint64
}

// ErrNoPeers is returned by Publish when no peer joined the topic in time.
var ErrNoPeers = errors.New("p2p: no peers in topic")

// swarmPattern admits any CID string (base32, base58btc, base64url) and
// short labels; segmentPattern is one '/'-separated part of a topic name.
var (
	swarmPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	segmentPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,48}$`)
)

// TopicName returns the gossip topic of a swarm: /coldnode/<swarm>/<name>.
func TopicName(swarm, name string) string { return "/coldnode/" + swarm + "/" + name }

// checkTopic validates a swarm ID (a CID string or a label of up to
// envelope.MaxSwarm characters from [A-Za-z0-9_-]) and a topic name made of
// '/'-separated segments of [A-Za-z0-9._-] (no empty, "." or ".." segment),
// so that the full topic fits an envelope.
func checkTopic(swarm, name string) error {
	if len(swarm) > envelope.MaxSwarm || !swarmPattern.MatchString(swarm) {
		return fmt.Errorf("swarm %q must be a CID or 1..%d characters of %s", swarm, envelope.MaxSwarm, swarmPattern)
	}
	for _, seg := range strings.Split(name, "/") {
		if !segmentPattern.MatchString(seg) || seg == "." || seg == ".." {
			return fmt.Errorf("topic %q: every '/'-separated segment must match %s and not be . or ..", name, segmentPattern)
		}
	}
	if full := TopicName(swarm, name); len(full) > envelope.MaxTopic {
		return fmt.Errorf("topic %q is %d bytes, limit %d", full, len(full), envelope.MaxTopic)
	}
	return nil
}

// Topic is one joined gossip topic. Its messages are read from Messages.
type Topic struct {
	n            *Node
	swarm, name  string
	full         string
	t            *pubsub.Topic
	sub          *pubsub.Subscription
	validate     Validator
	out          chan Message
	ctx          context.Context
	cancel       context.CancelFunc
	wg           sync.WaitGroup
	closeOnce    sync.Once
	reannouncing atomic.Bool
	accepted     atomic.Uint64
	rejected     atomic.Uint64
	ignored      atomic.Uint64
	dropped      atomic.Uint64
	throttled    atomic.Uint64
}

// Join subscribes to TopicName(swarm, name). swarm is a CID string (or a
// short label) and name one or more '/'-separated segments, so
// Join(id.String(), "rounds/v1", v) joins /coldnode/<id>/rounds/v1. validate
// may be nil (accept every well-formed payload). Joining the same topic twice
// is an error.
func (n *Node) Join(swarm, name string, validate Validator) (*Topic, error) {
	if err := checkTopic(swarm, name); err != nil {
		return nil, fmt.Errorf("p2p join: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	full := TopicName(swarm, name)
	if n.closed {
		return nil, ErrClosed
	}
	if _, ok := n.topics[full]; ok {
		return nil, fmt.Errorf("p2p join: already joined %s", full)
	}
	t, err := n.newTopic(swarm, name, validate)
	if err != nil {
		return nil, err
	}
	n.topics[full] = t
	return t, nil
}

func (n *Node) newTopic(swarm, name string, validate Validator) (*Topic, error) {
	t := &Topic{n: n, swarm: swarm, name: name, full: TopicName(swarm, name), validate: validate,
		out: make(chan Message, n.cfg.Gossip.Buffer)}
	t.ctx, t.cancel = context.WithCancel(n.ctx)
	if err := n.ps.RegisterTopicValidator(t.full, t.validator); err != nil {
		return nil, fmt.Errorf("p2p join %s: %w", t.full, err)
	}
	if err := t.open(); err != nil {
		n.ps.UnregisterTopicValidator(t.full)
		return nil, fmt.Errorf("p2p join %s: %w", t.full, err)
	}
	t.wg.Add(1)
	go t.drain()
	return t, nil
}

func (t *Topic) open() error {
	var err error
	if t.t, err = t.n.ps.Join(t.full); err != nil {
		return err
	}
	if err = t.t.SetScoreParams(topicScoreParams()); err != nil {
		t.t.Close()
		return err
	}
	if t.sub, err = t.t.Subscribe(); err != nil {
		t.t.Close()
		return err
	}
	return nil
}

// Name returns the full topic name.
func (t *Topic) Name() string { return t.full }

// Messages returns the channel of validated messages. It is closed by Close.
func (t *Topic) Messages() <-chan Message { return t.out }

// Peers returns the peers known to be subscribed to the topic.
func (t *Topic) Peers() []peer.ID { return t.t.ListPeers() }

// Stats returns the topic's counters.
func (t *Topic) Stats() Stats {
	return Stats{Accepted: t.accepted.Load(), Rejected: t.rejected.Load(),
		Ignored: t.ignored.Load(), Dropped: t.dropped.Load(), Throttled: t.throttled.Load()}
}

// Publish seals payload in a signed envelope and publishes it. It waits until
// at least one peer is in the topic's mesh (bounded by ctx, or by
// Gossip.PublishWait when ctx has no deadline) and returns an error wrapping
// ErrNoPeers if none came, so a publish is never lost silently. With flood
// publish the message goes to every peer known to be in the topic; a peer
// whose subscription arrives later misses it (use Reannounce or the pull
// path). The message is also delivered to this node's own Messages, marked
// Local.
func (t *Topic) Publish(ctx context.Context, payload []byte) error {
	if t.ctx.Err() != nil {
		return fmt.Errorf("p2p publish %s: %w", t.full, ErrClosed)
	}
	b, err := envelope.Seal(t.n.key, t.swarm, t.full, payload, t.n.now())
	if err != nil {
		return fmt.Errorf("p2p publish %s: %w", t.full, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.n.cfg.Gossip.PublishWait)
		defer cancel()
	}
	err = t.t.Publish(ctx, b, pubsub.WithReadiness(pubsub.MinTopicSize(1)))
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("p2p publish %s: %w: %w", t.full, ErrNoPeers, err)
	}
	if err != nil {
		return fmt.Errorf("p2p publish %s: %w", t.full, err)
	}
	return nil
}

// drain moves validated messages from the subscription to out, dropping
// (and counting) when the reader falls behind rather than stalling pubsub.
func (t *Topic) drain() {
	defer t.wg.Done()
	for {
		m, err := t.sub.Next(t.ctx)
		if err != nil {
			return
		}
		env, ok := m.ValidatorData.(*envelope.Envelope)
		if !ok {
			continue
		}
		msg := Message{From: m.GetFrom(), Payload: env.Payload, Sent: env.SentAt(),
			Local: m.ReceivedFrom == t.n.host.ID()}
		select {
		case t.out <- msg:
		default:
			t.dropped.Add(1)
			t.n.metrics.gossipResult("dropped")
			t.n.log.Warn("gossip reader behind; message dropped", "topic", t.full, "peer", msg.From)
		}
	}
}

// Close leaves the topic, stops its goroutines and closes Messages.
func (t *Topic) Close() {
	t.closeOnce.Do(func() {
		t.cancel()
		t.sub.Cancel()
		t.wg.Wait()
		close(t.out)
		t.n.ps.UnregisterTopicValidator(t.full)
		if err := t.t.Close(); err != nil {
			t.n.log.Debug("close topic", "topic", t.full, "err", err)
		}
		t.n.mu.Lock()
		delete(t.n.topics, t.full)
		t.n.mu.Unlock()
	})
}
