package node

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/train/data"
)

// tinyTask is a separable two-class feature task.
func tinyTask() *data.Task {
	r := rand.New(rand.NewPCG(1, 2))
	t := &data.Task{Name: "tiny", Kind: data.Features, Labels: []string{"neg", "pos"}, NumFeatures: 4}
	for i := range 120 {
		label := i % 2
		x := []float32{float32(label)*2 - 1 + float32(r.NormFloat64())*0.3, float32(r.NormFloat64()), 0.5, float32(label)}
		ex := data.Example{Features: x, Label: label}
		if i%5 == 0 {
			t.Test = append(t.Test, ex)
		} else {
			t.Train = append(t.Train, ex)
		}
	}
	return t
}

func runNode(t *testing.T, dir string, rounds int) []Event {
	t.Helper()
	return runNodeWith(t, dir, rounds, nil)
}

// runNodeWith runs a loopback node until the chain has rounds rounds, with
// edit applied to its configuration, and returns its events.
func runNodeWith(t *testing.T, dir string, rounds int, edit func(*Config)) []Event {
	t.Helper()
	repo, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	cfg := DefaultConfig()
	cfg.Listen, cfg.API, cfg.NoMDNS, cfg.Rounds, cfg.Epochs = []string{"/ip4/127.0.0.1/tcp/0"}, "", true, rounds, 1
	cfg.BuildSpread, cfg.TickInterval = 10*time.Millisecond, 20*time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	var events []Event
	n, err := New(repo, cfg, WithTask(tinyTask()), WithMetrics(NoopMetrics()), WithEvents(func(e Event) { events = append(events, e) }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return events
}

// TestRestartResumesChain runs a one-node swarm for two rounds, stops it,
// and runs it again to round four: the second run continues the persisted
// chain instead of starting over, and keeps rounds 1 and 2 unchanged.
func TestRestartResumesChain(t *testing.T) {
	dir := t.TempDir()
	opt := DefaultInitOptions()
	opt.Model, opt.Task = "mlp", tinyTask()
	opt.Params = wire.DefaultParams()
	opt.Params.Quorum, opt.Params.Window, opt.Params.Finality = 1, 0, 1
	if _, err := Init(context.Background(), dir, opt); err != nil {
		t.Fatal(err)
	}
	runNode(t, dir, 2)
	first := readRounds(t, dir)
	if len(first) != 2 {
		t.Fatalf("first run: %d rounds, want 2", len(first))
	}
	events := runNode(t, dir, 4)
	second := readRounds(t, dir)
	if len(second) != 4 {
		t.Fatalf("second run: %d rounds, want 4", len(second))
	}
	for i := range first {
		if first[i].Record != second[i].Record {
			t.Errorf("round %d changed across the restart: %s -> %s", i+1, first[i].Record, second[i].Record)
		}
	}
	for _, e := range events {
		if e.Kind == "proposed" && e.Round <= 2 {
			t.Errorf("the restarted node proposed again for round %d", e.Round)
		}
	}
	if !second[0].Final || second[3].Final {
		t.Errorf("finality depth 1: round 1 final=%v, round 4 final=%v", second[0].Final, second[3].Final)
	}
}

func readRounds(t *testing.T, dir string) []RoundInfo {
	t.Helper()
	o, err := OpenOffline(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	rs, err := o.Rounds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
