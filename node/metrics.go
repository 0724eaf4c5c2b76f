package node

import (
	"time"

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
}

// NewMetrics builds the node's metrics on a fresh registry, which also
// carries the Go and process collectors.
func NewMetrics() *Metrics {
	m := NoopMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	reg.MustRegister(m.Rounds, m.Contributions, m.FetchBytes, m.FetchSeconds, m.TrainExamples,
		m.TrainSeconds, m.TrainRate, m.Peers, m.HeadHeight, m.Fusions)
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
	}
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
