package p2p

import (
	"context"
	"crypto/sha256"
	"log/slog"
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
// Counters decay to 1% in 10 minutes (half-life about 90 s), so a peer that
// stops misbehaving recovers.
const (
	GossipThreshold             = -500
	PublishThreshold            = -1000
	GraylistThreshold           = -2500
	AcceptPXThreshold           = 10
	OpportunisticGraftThreshold = 3
	TopicScoreCap               = 50
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
func newPubSub(ctx context.Context, h host.Host, g GossipConfig, log *slog.Logger) (*pubsub.PubSub, error) {
	return pubsub.NewGossipSub(ctx, h,
		pubsub.WithSeenMessagesTTL(g.MaxAge+g.MaxSkew+time.Minute),
		pubsub.WithMessageIdFn(msgID),
		pubsub.WithPeerScore(peerScoreParams(), peerScoreThresholds()),
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

func peerScoreParams() *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		Topics:                    map[string]*pubsub.TopicScoreParams{},
		TopicScoreCap:             TopicScoreCap,
		AppSpecificScore:          func(peer.ID) float64 { return 0 },
		AppSpecificWeight:         1,
		BehaviourPenaltyWeight:    -10,
		BehaviourPenaltyThreshold: 6,
		BehaviourPenaltyDecay:     pubsub.ScoreParameterDecay(10 * time.Minute),
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
		FirstMessageDeliveriesDecay:    pubsub.ScoreParameterDecay(10 * time.Minute),
		FirstMessageDeliveriesCap:      20,
		InvalidMessageDeliveriesWeight: -100,
		InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(10 * time.Minute),
	}
}
