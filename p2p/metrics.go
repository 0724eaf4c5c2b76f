package p2p

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the package's Prometheus metrics. A nil *Metrics records
// nothing, which is the default.
type Metrics struct {
	gossip     *prometheus.CounterVec
	peers      prometheus.Gauge
	fetchBytes prometheus.Counter
	gcRemoved  prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg:
//
//	coldnode_p2p_gossip_messages_total{result="accepted|rejected|ignored|throttled|dropped"}
//	coldnode_p2p_peers
//	coldnode_p2p_fetch_bytes_total
//	coldnode_p2p_gc_removed_blocks_total
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		gossip: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "coldnode_p2p_gossip_messages_total",
			Help: "Gossip messages by validation result; throttled = over the author's rate limit; dropped = accepted but the reader was behind."}, []string{"result"}),
		peers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "coldnode_p2p_peers",
			Help: "Connected peers, sampled every reconnect interval."}),
		fetchBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "coldnode_p2p_fetch_bytes_total",
			Help: "File bytes made local by Fetch."}),
		gcRemoved: prometheus.NewCounter(prometheus.CounterOpts{Name: "coldnode_p2p_gc_removed_blocks_total",
			Help: "Blocks deleted by garbage collection."}),
	}
	for _, c := range []prometheus.Collector{m.gossip, m.peers, m.fetchBytes, m.gcRemoved} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("p2p metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) gossipResult(result string) {
	if m != nil {
		m.gossip.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) setPeers(n int) {
	if m != nil {
		m.peers.Set(float64(n))
	}
}

func (m *Metrics) fetched(n int64) {
	if m != nil && n > 0 {
		m.fetchBytes.Add(float64(n))
	}
}

func (m *Metrics) removed(n int) {
	if m != nil && n > 0 {
		m.gcRemoved.Add(float64(n))
	}
}

// Option sets an optional dependency of New.
type Option func(*Node)

// WithClock replaces time.Now for sealing envelopes and judging their age
// (tests and simulations).
func WithClock(now func() time.Time) Option {
	return func(n *Node) { n.now = now }
}

// WithMetrics records the node's metrics in m.
func WithMetrics(m *Metrics) Option {
	return func(n *Node) { n.metrics = m }
}

// WithRejections calls f for every gossip message the topic validator turns
// away itself, with one of the Reason constants and the message's author
// (for counting; f must be cheap and must not block). Messages a topic's
// own Validator rejects are not reported: that validator knows why.
func WithRejections(f func(from peer.ID, reason string)) Option {
	return func(n *Node) { n.reject = f }
}
