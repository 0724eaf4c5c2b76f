package node

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/coldnode/coldnode/consensus"
	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/p2p"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the node's Prometheus series, named coldnode_<subsystem>_<what>.
// NoopMetrics gives a set registered nowhere.
type Metrics struct {
	Registry      *prometheus.Registry
	Rounds        prometheus.Counter
	Contributions *prometheus.CounterVec // by origin: own, peer
	FetchBytes    prometheus.Counter
	FetchSeconds  prometheus.Histogram
	TrainExamples prometheus.Counter
	TrainSeconds  prometheus.Counter
	TrainRate     prometheus.Gauge
	Peers         prometheus.Gauge
	HeadHeight    prometheus.Gauge
	Fusions       prometheus.Counter
	Rejections    *prometheus.CounterVec // by reason: one of RejectReasons
	ChecksHeld    *prometheus.CounterVec // by reason: setting, memory
}

// NewMetrics builds the node's metrics on a fresh registry, which also
// carries the Go and process collectors.
func NewMetrics() *Metrics {
	m := NoopMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	reg.MustRegister(m.Rounds, m.Contributions, m.FetchBytes, m.FetchSeconds, m.TrainExamples,
		m.TrainSeconds, m.TrainRate, m.Peers, m.HeadHeight, m.Fusions)
	reg.MustRegister(m.Rejections, m.ChecksHeld)
	m.Registry = reg
	return m
}

// NoopMetrics returns metrics that are updated but never exported.
func NoopMetrics() *Metrics {
	return &Metrics{
		Rounds:        counter("consensus", "rounds_total", "Rounds closed (records accepted as head)."),
		Contributions: prometheus.NewCounterVec(opts("consensus", "contributions_total", "Contributions seen, by origin (own, peer)."), []string{"origin"}),
		FetchBytes:    counter("p2p", "fetch_bytes_total", "Bytes of files fetched from peers."),
		FetchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "coldnode", Subsystem: "p2p", Name: "fetch_seconds",
			Help: "Latency of fetching one record or file by CID.", Buckets: prometheus.ExponentialBuckets(0.005, 4, 9),
		}),
		TrainExamples: counter("train", "examples_total", "Training examples processed."),
		TrainSeconds:  counter("train", "seconds_total", "Seconds spent finetuning."),
		TrainRate:     gauge("train", "examples_per_second", "Throughput of the last finetuning run."),
		Peers:         gauge("p2p", "peers", "Connected peers."),
		HeadHeight:    gauge("consensus", "head_height", "Round number of the current head."),
		Fusions:       counter("fusion", "runs_total", "Fusions computed locally."),
		Rejections:    rejections(),
		ChecksHeld:    checksHeld(),
	}
}

// checksHeld counts checks of the round being trained that waited for the
// training to end, by reason; both series exist from the start.
func checksHeld() *prometheus.CounterVec {
	v := prometheus.NewCounterVec(opts("node", "checks_held_total",
		"Checks of the round being trained that waited for the training to end, by reason: setting (--check-after-training), memory (the running sum would not fit in the memory budget)."), []string{"reason"})
	v.WithLabelValues("setting")
	v.WithLabelValues("memory")
	return v
}

// ObserveFetch records one fetch.
func (m *Metrics) ObserveFetch(bytes int64, d time.Duration) {
	m.FetchBytes.Add(float64(bytes))
	m.FetchSeconds.Observe(d.Seconds())
}

// ObserveTraining records one finetuning run.
func (m *Metrics) ObserveTraining(examples int, d time.Duration) {
	m.TrainExamples.Add(float64(examples))
	m.TrainSeconds.Add(d.Seconds())
	if d > 0 {
		m.TrainRate.Set(float64(examples) / d.Seconds())
	}
}

func opts(sub, name, help string) prometheus.CounterOpts {
	return prometheus.CounterOpts{Namespace: "coldnode", Subsystem: sub, Name: name, Help: help}
}

func counter(sub, name, help string) prometheus.Counter {
	return prometheus.NewCounter(opts(sub, name, help))
}

func gauge(sub, name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "coldnode", Subsystem: sub, Name: name, Help: help})
}

// Reasons for turning away a peer's input, the label values of
// coldnode_node_rejections_total. The set is closed: anything else counts as
// RejectOther.
const (
	RejectMalformed    = "malformed"      // undecodable announcement, block, envelope or delta file
	RejectOversize     = "oversize"       // envelope or delta over its size limit
	RejectSignature    = "signature"      // unsigned, or signed by another key
	RejectWrongTopic   = "wrong_topic"    // envelope sealed for another swarm's topic
	RejectWrongSwarm   = "wrong_swarm"    // announcement, contribution or record of another swarm
	RejectNotAllowed   = "not_allowed"    // contributor outside the genesis allowlist
	RejectShape        = "shape"          // delta tensors missing, extra or of another shape
	RejectDType        = "dtype"          // delta tensor not F32
	RejectNonFinite    = "nonfinite"      // NaN or Inf in a delta
	RejectNorm         = "norm"           // delta body norm over the genesis NormBound
	RejectUnknownBase  = "unknown_base"   // built on a base no valid record has
	RejectReplay       = "replay"         // a contribution of a final round sent again
	RejectWrongRound   = "wrong_round"    // claims a round its base does not end
	RejectConflict     = "conflict"       // record conflicting with a final one
	RejectForged       = "forged"         // record whose fused CID does not recompute
	RejectRecord       = "invalid_record" // any other invalid record
	RejectEquivocation = "equivocation"   // two contributions by one peer on one base
	RejectFlood        = "flood"          // gossip over the author's rate limit
	RejectOther        = "other"
)

// RejectReasons lists every reason label; all are exported from the start
// (at 0), so a dashboard sees the full set.
var RejectReasons = []string{RejectMalformed, RejectOversize, RejectSignature, RejectWrongTopic,
	RejectWrongSwarm, RejectNotAllowed, RejectShape, RejectDType, RejectNonFinite, RejectNorm,
	RejectUnknownBase, RejectReplay, RejectWrongRound, RejectConflict, RejectForged, RejectRecord,
	RejectEquivocation, RejectFlood, RejectOther}

func rejections() *prometheus.CounterVec {
	v := prometheus.NewCounterVec(opts("node", "rejections_total",
		"Inputs from peers turned away (gossip validation, delta checks, state machine), by reason."), []string{"reason"})
	for _, r := range RejectReasons {
		v.WithLabelValues(r)
	}
	return v
}

// Rejected counts one rejection; a reason outside RejectReasons counts as
// RejectOther, so the label set stays bounded.
func (m *Metrics) Rejected(reason string) {
	if !slices.Contains(RejectReasons, reason) {
		reason = RejectOther
	}
	m.Rejections.WithLabelValues(reason).Inc()
}

// gossipReason maps a p2p validator reason to a label (they share names).
func gossipReason(reason string) string {
	switch reason {
	case p2p.ReasonOversize, p2p.ReasonMalformed, p2p.ReasonSignature, p2p.ReasonFlood:
		return reason
	case p2p.ReasonTopic:
		return RejectWrongTopic
	}
	return RejectOther
}

// eventReason classifies a state machine Rejected event: by its Cause,
// refined by its reason text where one cause covers several labels
// (invalid input, records), and by text alone for an event without a
// cause. A failed delta check is classified from the node's own error
// (checkReason; verdicts.reason prefers the error value itself).
func eventReason(e consensus.Rejected) string {
	switch e.Cause {
	case consensus.CauseReplay:
		return RejectReplay
	case consensus.CauseUnknownBase:
		return RejectUnknownBase
	case consensus.CauseWrongRound:
		return RejectWrongRound
	case consensus.CauseConflict:
		return RejectConflict
	case consensus.CauseRecord:
		if strings.Contains(e.Reason, "forged") {
			return RejectForged
		}
		return RejectRecord
	}
	if rest, ok := strings.CutPrefix(e.Reason, "delta check: "); ok {
		return checkReason(errors.New(rest))
	}
	if rest, ok := strings.CutPrefix(e.Reason, "fusion: "); ok {
		return checkReason(errors.New(rest))
	}
	for _, r := range eventPhrases {
		if strings.Contains(e.Reason, r.phrase) {
			return r.reason
		}
	}
	if e.Cause == consensus.CauseInvalid {
		return RejectMalformed
	}
	return RejectOther
}

// eventPhrases are the state machine's phrasings, matched in order; the
// first found decides.
var eventPhrases = []struct{ phrase, reason string }{
	{"replayed", RejectReplay},
	{"unknown base", RejectUnknownBase},
	{"which ends round", RejectWrongRound},
	{"not on the allowlist", RejectNotAllowed},
	{"another swarm", RejectWrongSwarm},
	{`no field "sig"`, RejectSignature},
	{"signature", RejectSignature},
	{"conflicts with the final record", RejectConflict},
	{"forged", RejectForged},
	{"too large", RejectOversize},
	{"wire: ", RejectMalformed},
	{"record", RejectRecord},
}

// checkReason classifies why a delta failed the node's check (checkDelta,
// matchBase, or the fetch size cap), by sentinel where one exists.
func checkReason(err error) string {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "genesis weights"):
		return RejectOther // this node could not read its own genesis
	case errors.Is(err, p2p.ErrTooLarge) || strings.Contains(msg, "larger than allowed"):
		return RejectOversize
	case errors.Is(err, fusion.ErrNonFinite) || strings.Contains(msg, "non-finite") ||
		strings.Contains(msg, " is NaN") || strings.Contains(msg, " is +Inf") || strings.Contains(msg, " is -Inf"):
		return RejectNonFinite
	case strings.Contains(msg, "exceeds the swarm's bound"):
		return RejectNorm
	case strings.Contains(msg, "dtype"):
		return RejectDType
	case errors.Is(err, fusion.ErrMismatch) || strings.Contains(msg, "does not match base"):
		return RejectShape
	}
	return RejectMalformed
}

// misbehaviour are the reasons an honest peer never gives: the peer a
// rejection names loses gossipsub score for them (p2p.Node.Penalize). Stale
// but honest work (replay, unknown_base, wrong_round, conflict, and records
// that became invalid) is counted without a penalty.
var misbehaviour = []string{RejectMalformed, RejectOversize, RejectSignature, RejectWrongSwarm,
	RejectNotAllowed, RejectShape, RejectDType, RejectNonFinite, RejectNorm, RejectForged, RejectEquivocation}

// punish counts a rejection and, for misbehaviour, lowers the gossipsub
// score of the peer it names (when known).
func (rt *runtime) punish(reason string, p peer.ID) {
	rt.n.metrics.Rejected(reason)
	if p != "" && slices.Contains(misbehaviour, reason) {
		rt.net.host.Penalize(p, 1)
	}
}
