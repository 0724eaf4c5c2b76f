package sim

import (
	"testing"
	"time"
)

func run(t *testing.T, cfg Config) Result {
	t.Helper()
	r, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("N=%d rounds=%d time=%v agree mean=%v max=%v gossip/peer/round=%.1f fetch=%.1f KiB=%.1f counted=%d stale=%d late=%d lost=%d eq=%d rej=%d",
		r.Peers, r.Rounds, r.SimTime, r.AgreeMean, r.AgreeMax, r.GossipPerPeer, r.FetchesPerPeer, r.KBPerPeer, r.Counted, r.Stale, r.Late, r.Lost, r.Equivocations, r.Rejections)
	for _, v := range r.Violations {
		t.Error(v)
	}
	return r
}

func TestHealthy(t *testing.T) {
	r := run(t, DefaultConfig(8))
	if r.Counted != 8*3 {
		t.Fatalf("counted %d contributions, want every one of 8 peers x 3 rounds", r.Counted)
	}
}

func TestLoss(t *testing.T) {
	cfg := DefaultConfig(8)
	cfg.Loss = 0.1
	run(t, cfg)
}

func TestPartitionHeal(t *testing.T) {
	cfg := DefaultConfig(8)
	cfg.Params.Quorum = 3
	cfg.Partition = &Partition{At: 10 * time.Second, Heal: 100 * time.Second, Fraction: 0.5}
	r := run(t, cfg)
	if r.Stale != 0 || r.Counted != 8*3 {
		t.Fatalf("after a heal within the round the union must win: counted %d, stale %d", r.Counted, r.Stale)
	}
}

func TestByzantine(t *testing.T) {
	cfg := DefaultConfig(8)
	cfg.Byzantine = Byzantine{Equivocators: 1, BadDeltas: 1, Oversized: 1, Withholders: 1, Forgers: 1}
	r := run(t, cfg)
	if r.Equivocations == 0 || r.Rejections == 0 {
		t.Fatalf("misbehaviour went unnoticed: %+v", r.Stats)
	}
}

func TestCrashAndLateJoin(t *testing.T) {
	cfg := DefaultConfig(8)
	cfg.Crashes, cfg.CrashAt, cfg.RestartAt = 2, 30*time.Second, 150*time.Second
	cfg.Late, cfg.LateAt = 1, 200*time.Second
	run(t, cfg)
}

func TestDeterministic(t *testing.T) {
	cfg := DefaultConfig(8)
	cfg.Loss = 0.1
	a, _ := Run(cfg)
	b, _ := Run(cfg)
	if a.SimTime != b.SimTime || a.GossipPerPeer != b.GossipPerPeer || a.AgreeMean != b.AgreeMean {
		t.Fatalf("same config, different runs:\n%+v\n%+v", a, b)
	}
}

// A partition long enough for both sides to close several rounds: after
// the heal the heavier chain wins, the other side's work is stale (not
// lost), and everyone agrees and goes on to the last round.
func TestLongPartition(t *testing.T) {
	cfg := DefaultConfig(8)
	cfg.Params.Quorum, cfg.Params.Finality, cfg.Rounds = 2, 4, 4
	cfg.Partition = &Partition{At: 5 * time.Second, Heal: 250 * time.Second, Fraction: 0.25}
	r := run(t, cfg)
	if r.Stale == 0 {
		t.Fatal("the lighter side's contributions should be stale after the heal")
	}
}
