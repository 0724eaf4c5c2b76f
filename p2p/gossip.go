package p2p

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"math"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Peer-score thresholds. A peer's score starts at 0, grows slowly with time
// in the mesh and first deliveries (capped at TopicScoreCap), and falls by
// 100 x (invalid messages)^2 per topic and 10 x (excess misbehaviour)^2:
//
//   - below GossipThreshold (-500, three invalid messages) we stop gossiping
//     with the peer;
//   - below PublishThreshold (-1000, four) we do not publish to it;
//   - below GraylistThreshold (-2500, six: five give exactly -2500) we
//     ignore everything it sends;
//   - peer exchange is accepted only from peers above AcceptPXThreshold (10);
//   - opportunistic grafting starts when the mesh median falls below 3.
//
// A flooding author loses FloodPenalty for every message over its rate
// limit (GossipConfig.FloodRate, FloodBurst) as its application-specific
// score: 50 such messages put it under GossipThreshold, 250 graylist it.
// A peer the application reports (Penalize: a bad delta or block it signed)
// loses MisbehaviourPenalty per report: 5 reports reach GossipThreshold, 25
// the graylist.
//
// Counters decay to 1% in 10 minutes (half-life about 90 s), so a peer that
// stops misbehaving recovers.
const (
	GossipThreshold             = -500
	PublishThreshold            = -1000
	GraylistThreshold           = -2500
	AcceptPXThreshold           = 10
	OpportunisticGraftThreshold = 3
	TopicScoreCap               = 50
	FloodPenalty                = -10
	MisbehaviourPenalty         = -100
)

// scoreDecayTime is how long the score counters take to decay to 1%;
// scoreInspectEvery is how often pubsub reports the peers' scores.
const (
	scoreDecayTime    = 10 * time.Minute
	scoreInspectEvery = time.Second
)

// msgID is the SHA-256 of the message bytes: the same envelope gossiped by
// several peers is one message.
func msgID(m *pb.Message) string {
	h := sha256.Sum256(m.Data)
	return string(h[:])
}

// newPubSub starts the router. The seen-messages cache outlives the age a
// validator accepts (MaxAge + MaxSkew), so a replayed envelope is always
// either a known duplicate or stale: it is never delivered twice.
// The guard throttles flooding authors and feeds the application-specific
// score; it also keeps the scores pubsub computes (PeerScore).
func newPubSub(ctx context.Context, h host.Host, g GossipConfig, gd *guard, log *slog.Logger) (*pubsub.PubSub, error) {
	return pubsub.NewGossipSub(ctx, h,
		pubsub.WithSeenMessagesTTL(g.MaxAge+g.MaxSkew+time.Minute),
		pubsub.WithMessageIdFn(msgID),
		pubsub.WithPeerScore(peerScoreParams(gd.appScore), peerScoreThresholds()),
		pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(gd.inspect), scoreInspectEvery),
		pubsub.WithFloodPublish(true),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		pubsub.WithLogger(log.With("component", "pubsub")),
	)
}

func peerScoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             GossipThreshold,
		PublishThreshold:            PublishThreshold,
		GraylistThreshold:           GraylistThreshold,
		AcceptPXThreshold:           AcceptPXThreshold,
		OpportunisticGraftThreshold: OpportunisticGraftThreshold,
	}
}

// peerScoreParams scores peers; app is the application-specific part (the
// flood guard's penalty).
func peerScoreParams(app func(peer.ID) float64) *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		Topics:                    map[string]*pubsub.TopicScoreParams{},
		TopicScoreCap:             TopicScoreCap,
		AppSpecificScore:          app,
		AppSpecificWeight:         1,
		BehaviourPenaltyWeight:    -10,
		BehaviourPenaltyThreshold: 6,
		BehaviourPenaltyDecay:     pubsub.ScoreParameterDecay(scoreDecayTime),
		DecayInterval:             pubsub.DefaultDecayInterval,
		DecayToZero:               pubsub.DefaultDecayToZero,
		RetainScore:               10 * time.Minute,
		// IP colocation is not scored: lab swarms often share one address.
		SkipAtomicValidation: true,
	}
}

func topicScoreParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		SkipAtomicValidation:           true,
		TopicWeight:                    1,
		TimeInMeshWeight:               0.01,
		TimeInMeshQuantum:              time.Second,
		TimeInMeshCap:                  300,
		FirstMessageDeliveriesWeight:   1,
		FirstMessageDeliveriesDecay:    pubsub.ScoreParameterDecay(scoreDecayTime),
		FirstMessageDeliveriesCap:      20,
		InvalidMessageDeliveriesWeight: -100,
		InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(scoreDecayTime),
	}
}

// guard throttles authors that flood the node's topics and keeps the peer
// scores pubsub reports. Pubsub calls it from its validation workers (allow),
// its scoring loop (appScore) and its inspector (inspect), so unlike most
// state here it is shared, behind mu; every call is short and never blocks.
type guard struct {
	rate, burst float64 // tokens a second, bucket size; rate 0: no limit
	self        peer.ID
	now         func() time.Time

	mu      sync.Mutex
	authors map[peer.ID]*bucket
	sweepAt int // prune idle buckets when authors reaches this size
	scores  map[peer.ID]float64
}

// bucket is one author's token bucket and its decaying penalty: the
// application-specific score it lost (throttled messages and reported
// misbehaviour, <= 0), decayed like pubsub's counters.
type bucket struct {
	tokens, penalty float64
	at              time.Time
}

// minTracked is the author count below which idle buckets are kept.
const minTracked = 4096

func newGuard(g GossipConfig, self peer.ID, now func() time.Time) *guard {
	return &guard{rate: g.FloodRate, burst: float64(g.FloodBurst), self: self, now: now,
		authors: map[peer.ID]*bucket{}, sweepAt: minTracked}
}

// allow takes one token from author's bucket. Without one the message is
// throttled: allow returns false and the author loses FloodPenalty.
// The node's own messages are never throttled.
func (g *guard) allow(author peer.ID) bool {
	if g.rate == 0 || author == g.self {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.bucket(author)
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	b.penalty += FloodPenalty
	return false
}

// penalize lowers p's application-specific score by n x MisbehaviourPenalty.
func (g *guard) penalize(p peer.ID, n float64) {
	if p == g.self || !(n > 0) {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.bucket(p)
	b.penalty += MisbehaviourPenalty * n
}

// bucket returns author's bucket brought up to now, creating a full one.
func (g *guard) bucket(author peer.ID) *bucket {
	now := g.now()
	b := g.authors[author]
	if b == nil {
		g.maybeSweep(now)
		b = &bucket{tokens: g.burst, at: now}
		g.authors[author] = b
	}
	b.advance(now, g.rate, g.burst)
	return b
}

// advance refills the bucket and decays the penalty for the time since at.
func (b *bucket) advance(now time.Time, rate, burst float64) {
	dt := now.Sub(b.at).Seconds()
	if dt <= 0 {
		return
	}
	b.tokens = math.Min(burst, b.tokens+rate*dt)
	b.penalty *= math.Exp(math.Log(0.01) * dt / scoreDecayTime.Seconds())
	b.at = now
}

// maybeSweep forgets authors whose bucket is full again and whose penalty
// has decayed away, once the map has doubled since the last sweep, so many
// short-lived authors cannot grow it without bound.
func (g *guard) maybeSweep(now time.Time) {
	if len(g.authors) < g.sweepAt {
		return
	}
	for p, b := range g.authors {
		b.advance(now, g.rate, g.burst)
		if b.tokens >= g.burst && b.penalty > -0.01 {
			delete(g.authors, p)
		}
	}
	g.sweepAt = max(minTracked, 2*len(g.authors))
}

// appScore is pubsub's application-specific score of p: its penalty, decayed.
func (g *guard) appScore(p peer.ID) float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.authors[p]
	if b == nil {
		return 0
	}
	b.advance(g.now(), g.rate, g.burst)
	return b.penalty
}

// Penalize lowers p's gossipsub score by n x MisbehaviourPenalty, for
// misbehaviour the application found outside the gossip validator (a bad
// delta or block p signed). The penalty decays like the others; enough of
// it graylists p.
func (n *Node) Penalize(p peer.ID, count float64) {
	n.guard.penalize(p, count)
}

// inspect keeps the latest scores pubsub computed.
func (g *guard) inspect(scores map[peer.ID]float64) {
	g.mu.Lock()
	g.scores = scores
	g.mu.Unlock()
}

// PeerScore returns p's gossipsub score as last computed (every second):
// the thresholds above say what it means. ok is false for a peer the router
// does not score (never connected, or forgotten).
func (n *Node) PeerScore(p peer.ID) (score float64, ok bool) {
	n.guard.mu.Lock()
	defer n.guard.mu.Unlock()
	score, ok = n.guard.scores[p]
	return score, ok
}
