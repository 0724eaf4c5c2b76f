package sim

import (
	"fmt"
	"io"
	"time"
)

// Scenario names a network condition of the scaling curve.
type Scenario struct {
	Name      string
	Loss      float64
	Partition bool
}

// CurveScenarios are the conditions of docs/benchmarks.md.
var CurveScenarios = []Scenario{
	{Name: "clean"}, {Name: "10% loss", Loss: 0.1},
	{Name: "partition", Partition: true}, {Name: "10% loss + partition", Loss: 0.1, Partition: true},
}

// CurveConfig is the configuration of one point of the curve: n honest
// peers, quorum n/2, every peer contributing every round; the partition
// splits the swarm in half from 10 s to 100 s of round 1.
func CurveConfig(n int, sc Scenario, seed uint64, rounds int) Config {
	cfg := DefaultConfig(n)
	cfg.Rounds = rounds
	cfg.Seed, cfg.Loss = seed, sc.Loss
	if sc.Partition {
		cfg.Partition = &Partition{At: 10 * time.Second, Heal: 100 * time.Second, Fraction: 0.5}
	}
	return cfg
}

// WriteCurveRow runs one point and writes it as a markdown table row.
func WriteCurveRow(w io.Writer, n int, sc Scenario, seed uint64, rounds int) error {
	start := time.Now()
	r, err := Run(CurveConfig(n, sc, seed, rounds))
	if err != nil {
		return err
	}
	ok := "yes"
	if len(r.Violations) > 0 {
		ok = fmt.Sprintf("NO: %s", r.Violations[0])
	}
	_, err = fmt.Fprintf(w, "| %d | %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f | %d/%d/%d/%d | %s | %.1f |\n",
		n, sc.Name, r.Rounds, r.AgreeMean.Seconds(), r.AgreeMax.Seconds(), r.GossipPerPeer, r.PublishPerPeer,
		r.FetchesPerPeer, r.KBPerPeer, r.Counted, r.Stale, r.Late, r.Lost, ok, time.Since(start).Seconds())
	return err
}

// CurveHeader is the markdown header matching WriteCurveRow.
const CurveHeader = `| peers | network | rounds | agree mean s | agree max s | gossip in /peer/round | published /peer/round | fetches /peer/round | KiB in /peer/round | counted/stale/late/lost | invariants hold | wall s |
|---|---|---|---|---|---|---|---|---|---|---|---|
`
