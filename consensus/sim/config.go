package sim

import (
	"fmt"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
)

// Config describes one simulated run.
type Config struct {
	Seed   uint64
	N      int         // honest peers present from the start
	Params wire.Params // swarm parameters (quorum, window, deadline, finality)
	Rounds int         // honest peers train until the head reaches this round

	TrainTime   time.Duration // mean time to train a delta
	TrainJitter float64       // training time is uniform in TrainTime*(1±TrainJitter)
	CheckTime   time.Duration // fetch and check one delta
	FuseTime    time.Duration // fuse one round

	LatencyMin  time.Duration // one-way latency = LatencyMin + Exp(LatencyMean)
	LatencyMean time.Duration
	Loss        float64 // probability that one gossip delivery or fetch is lost

	Partition *Partition // split the swarm in two for a while
	Crashes   int        // honest peers that crash at CrashAt and restart at RestartAt
	CrashAt   time.Duration
	RestartAt time.Duration
	Late      int           // honest peers that join at LateAt with an empty store
	LateAt    time.Duration //
	Byzantine Byzantine     // misbehaving peers, in addition to N

	BuildSpread   time.Duration
	AnnounceEvery time.Duration
	RetryEvery    time.Duration
	TickEvery     time.Duration
	Settle        time.Duration // stop once heads have not changed for this long
	MaxTime       time.Duration // hard stop
}

// Partition splits peers [0, Fraction*N) from the rest between At and Heal.
type Partition struct {
	At, Heal time.Duration
	Fraction float64
}

// Byzantine counts misbehaving peers of each kind.
type Byzantine struct {
	Equivocators int // sign two deltas per base, each shown to half the swarm
	BadDeltas    int // deltas that fail the norm check
	Oversized    int // deltas larger than MaxDelta
	Withholders  int // announce contributions whose deltas and blocks nobody can fetch
	Forgers      int // publish records with a wrong fused CID
}

func (b Byzantine) total() int {
	return b.Equivocators + b.BadDeltas + b.Oversized + b.Withholders + b.Forgers
}

// DefaultConfig is a small, healthy swarm.
func DefaultConfig(n int) Config {
	p := wire.DefaultParams()
	p.Quorum, p.Window, p.Deadline, p.Finality = max(1, n/2), 20*time.Second, 3*time.Minute, 2
	return Config{
		Seed: 1, N: n, Params: p, Rounds: 3,
		TrainTime: time.Minute, TrainJitter: 0.2, CheckTime: 500 * time.Millisecond, FuseTime: 2 * time.Second,
		LatencyMin: 20 * time.Millisecond, LatencyMean: 80 * time.Millisecond,
		BuildSpread: 3 * time.Second, AnnounceEvery: 15 * time.Second, RetryEvery: 5 * time.Second,
		TickEvery: time.Second, Settle: 90 * time.Second, MaxTime: 2 * time.Hour,
	}
}

// Validate reports the first unusable setting.
func (c *Config) Validate() error {
	switch {
	case c.N < 1:
		return fmt.Errorf("sim: N = %d, want at least 1", c.N)
	case c.Rounds < 1:
		return fmt.Errorf("sim: rounds = %d, want at least 1", c.Rounds)
	case c.Loss < 0 || c.Loss >= 1:
		return fmt.Errorf("sim: loss %v, want [0, 1)", c.Loss)
	case c.TickEvery <= 0 || c.TrainTime <= 0:
		return fmt.Errorf("sim: tick period and train time must be positive")
	case c.Crashes+c.Late > c.N:
		return fmt.Errorf("sim: %d crashing and %d late peers but only %d honest peers", c.Crashes, c.Late, c.N)
	case c.Partition != nil && (c.Partition.Fraction <= 0 || c.Partition.Fraction >= 1 || c.Partition.Heal <= c.Partition.At):
		return fmt.Errorf("sim: partition needs 0 < fraction < 1 and heal after start")
	}
	return c.Params.Validate()
}
