package demo

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/model"
)

// BenchmarkSwarmRoundVsTraining measures, in one run, the wall time of
// swarm rounds (four in-process nodes on loopback: training, announcing,
// fetching deltas over bitswap, fusing, verifying, persisting) against the
// same four finetunings run alone, in parallel, with no swarm. The ratio
// swarm/train is the cost of the protocol per round.
func BenchmarkSwarmRoundVsTraining(b *testing.B) {
	const nodes, rounds, epochs = 4, 3, 10
	tasks, err := Tasks(nodes)
	if err != nil {
		b.Fatal(err)
	}
	var swarm, alone time.Duration
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		cfg := DefaultConfig()
		cfg.Nodes, cfg.Rounds, cfg.Epochs, cfg.Dir = nodes, rounds, epochs, dir
		res := &Result{}
		for k := range tasks {
			res.NodeDirs = append(res.NodeDirs, fmt.Sprintf("%s/node%d", dir, k))
		}
		if res.Swarm, err = initSwarm(context.Background(), res.NodeDirs[0], tasks[0], cfg); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := runSwarm(context.Background(), cfg, res, tasks); err != nil {
			b.Fatal(err)
		}
		swarm += time.Since(start)
		start = time.Now()
		trainAlone(b, tasks, rounds, epochs)
		alone += time.Since(start)
	}
	perRound := float64(swarm.Milliseconds()) / float64(b.N*rounds)
	b.ReportMetric(perRound, "ms/swarm-round")
	b.ReportMetric(float64(alone.Milliseconds())/float64(b.N*rounds), "ms/train-round")
	b.ReportMetric(float64(swarm)/float64(alone), "swarm/train")
}

// trainAlone finetunes every task from the genesis body, in parallel, the
// given number of times: the training work of the swarm rounds.
func trainAlone(b *testing.B, tasks []*data.Task, rounds, epochs int) {
	cfg, err := model.DefaultConfig("mlp", tasks[0])
	if err != nil {
		b.Fatal(err)
	}
	body, err := model.InitBody(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	opt := train.DefaultOptions()
	opt.Epochs = epochs
	for range rounds {
		errs := make(chan error, len(tasks))
		for _, t := range tasks {
			go func() {
				_, err := train.Finetune(context.Background(), body, t, opt, nil)
				errs <- err
			}()
		}
		for range tasks {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}

}
