package lab

import (
	"context"
	"testing"

	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/model"
)

// benchSetup loads sst2 and trec capped at 1,000 training examples and a
// bag genesis body of the default run's size (2^15 buckets).
func benchSetup(b *testing.B) ([]*Task, *checkpoint.File, []byte) {
	b.Helper()
	cfg := DefaultConfig()
	cfg.Seen = []string{datasets + "sst2", datasets + "trec"}
	cfg.MaxTrain, cfg.MaxDev, cfg.MaxTest = 1000, 300, 300
	tasks, mc, err := loadTasks(cfg)
	if err != nil {
		b.Fatal(err)
	}
	gf, err := model.InitBody(mc, 1)
	if err != nil {
		b.Fatal(err)
	}
	g, err := checkpoint.Encode(gf)
	if err != nil {
		b.Fatal(err)
	}
	return tasks, gf, g
}

func contribOptions() train.Options {
	o := DefaultConfig().Contrib
	o.Seed = 3
	return o
}

// BenchmarkBaselineFinetune is a contributor's training alone: the baseline
// of BenchmarkContribution.
func BenchmarkBaselineFinetune(b *testing.B) {
	tasks, gf, _ := benchSetup(b)
	for b.Loop() {
		if _, err := train.Finetune(context.Background(), gf, tasks[0].Task, contribOptions(), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkContribution is what a lab contributor does: the same training,
// then the delta, its encoding and its UnixFS CID.
func BenchmarkContribution(b *testing.B) {
	tasks, gf, _ := benchSetup(b)
	for b.Loop() {
		if _, err := finetuneDelta(context.Background(), gf, tasks[0], contribOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCloseRound fuses two deltas into the base with fusion.Fuse and
// writes the CIDs, signed contributions and record of the round.
func BenchmarkCloseRound(b *testing.B) {
	tasks, gf, g := benchSetup(b)
	sw, err := newSwarm("bench", "{}", "mean", g, tasks, 1)
	if err != nil {
		b.Fatal(err)
	}
	var cs []contribution
	for _, t := range tasks {
		c, err := finetuneDelta(context.Background(), gf, t, contribOptions())
		if err != nil {
			b.Fatal(err)
		}
		cs = append(cs, c)
	}
	for b.Loop() {
		if _, _, _, err := sw.close(1, sw.id, g, cs); err != nil {
			b.Fatal(err)
		}
	}
}
