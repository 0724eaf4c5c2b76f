package lab

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/checkpoint"
)

// The evaluation protocols.
const (
	Finetune = "finetune" // body and a fresh head trained on the task
	Probe    = "probe"    // body frozen, a fresh head trained (linear probe)
)

// The models the lab scores.
const (
	ModelGenesis   = "genesis"   // the initial body (round 0 of every ColD curve)
	ModelColD      = "cold"      // the ColD Fusion base after each round
	ModelOneRound  = "fuse-once" // every seen task finetuned once from genesis, fused once
	ModelMultitask = "multitask" // shared body, one head per seen task
	ModelSingle    = "single"    // each seen task finetuned alone (scored on its own task)
)

// SweepModel names the sweep's ColD run with n contributors per round.
func SweepModel(n int) string { return fmt.Sprintf("cold-c%d", n) }

// Score is one model's test score on one task under one protocol.
type Score struct {
	Seed     int     `json:"seed"`
	Model    string  `json:"model"`
	Round    int     `json:"round"`
	Protocol string  `json:"protocol"`
	Group    Group   `json:"group"`
	Task     string  `json:"task"`
	Accuracy float64 `json:"accuracy"`
	MacroF1  float64 `json:"macro_f1"`
	N        int     `json:"n"`
}

// body is a model body to evaluate.
type body struct {
	model string
	round int
	data  []byte
}

// evaluator scores bodies on every task; the head seed depends only on
// (seed, task, protocol), so every body gets the same head start and the
// same data order: comparisons between bodies are paired.
type evaluator struct {
	cfg   Config
	seed  int
	tasks []*Task
	log   *logger
}

type evalJob struct {
	body, task int
	protocol   string
}

// score evaluates every body on every task under each protocol.
func (e *evaluator) score(ctx context.Context, bodies []body, protocols []string) ([]Score, error) {
	files, err := decodeBodies(bodies)
	if err != nil {
		return nil, err
	}
	var jobs []evalJob
	for b := range bodies {
		for t := range e.tasks {
			for _, p := range protocols {
				jobs = append(jobs, evalJob{body: b, task: t, protocol: p})
			}
		}
	}
	out := make([]Score, len(jobs))
	asr := make([]*Score, len(jobs))
	var done atomic.Int64
	err = parallel(ctx, len(jobs), e.cfg.Workers, func(ctx context.Context, i int) error {
		j := jobs[i]
		res, err := e.one(ctx, files[j.body], j)
		if err == nil {
			asr[i], err = e.backdoor(res, bodies[j.body], j)
		}
		if err != nil {
			return fmt.Errorf("lab: evaluate %s round %d on %s (%s): %w", bodies[j.body].model, bodies[j.body].round, e.tasks[j.task].Name, j.protocol, err)
		}
		t, m := e.tasks[j.task], res.Test
		out[i] = Score{Seed: e.seed, Model: bodies[j.body].model, Round: bodies[j.body].round, Protocol: j.protocol,
			Group: t.Group, Task: t.Name, Accuracy: m.Accuracy, MacroF1: m.MacroF1, N: m.N}
		e.tick(done.Add(1), len(jobs))
		return nil
	})
	for _, s := range asr {
		if s != nil {
			out = append(out, *s)
		}
	}
	return out, err
}

// backdoor returns the attack-success score of a backdoor attacker's task
// (nil for every other task or attack).
func (e *evaluator) backdoor(res *train.Result, b body, j evalJob) (*Score, error) {
	a, t := e.cfg.attack(), e.tasks[j.task]
	if t.Group != Seen || !e.cfg.triggerScored(j.task) {
		return nil, nil
	}
	m, err := attackSuccess(res, t, int(a.Param))
	if err != nil {
		return nil, err
	}
	return &Score{Seed: e.seed, Model: b.model, Round: b.round, Protocol: j.protocol, Group: Backdoor,
		Task: backdoorName(t.Name), Accuracy: m.Accuracy, N: m.N}, nil
}

func (e *evaluator) tick(n int64, total int) {
	step := max(int64(total)/10, 1)
	if n%step == 0 || n == int64(total) {
		e.log.printf("seed %d: evaluated %d/%d", e.seed, n, total)
	}
}

// one trains a fresh head (and the body, for finetune) and scores the test split.
func (e *evaluator) one(ctx context.Context, f *checkpoint.File, j evalJob) (*train.Result, error) {
	t := e.tasks[j.task]
	opt, run := e.cfg.Finetune, train.Finetune
	if j.protocol == Probe {
		opt, run = e.cfg.Probe, train.Probe
	}
	opt.Seed = derive(uint64(e.seed), uint64(j.task), protocolID(j.protocol), 0xe7a1)
	return run(ctx, f, t.Task, opt, nil)
}

func decodeBodies(bodies []body) ([]*checkpoint.File, error) {
	files := make([]*checkpoint.File, len(bodies))
	for i, b := range bodies {
		f, err := checkpoint.Decode(b.data)
		if err != nil {
			return nil, fmt.Errorf("lab: %s round %d body: %w", b.model, b.round, err)
		}
		files[i] = f
	}
	return files, nil
}

func protocolID(p string) uint64 {
	if p == Probe {
		return 2
	}
	return 1
}
