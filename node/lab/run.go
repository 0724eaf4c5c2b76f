package lab

import (
	"context"
	"fmt"
	"time"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/model"
)

// Result is everything a lab run measured.
type Result struct {
	Config  Config     `json:"-"`
	Model   string     `json:"model"` // the body config JSON
	Tasks   []TaskInfo `json:"tasks"`
	Seeds   []SeedRun  `json:"seeds"`
	Scores  []Score    `json:"scores"`
	Seconds float64    `json:"seconds"`
}

// TaskInfo describes a task as the lab used it (after subsampling).
type TaskInfo struct {
	Name    string `json:"name"`
	Group   Group  `json:"group"`
	Path    string `json:"path"`
	Classes int    `json:"classes"`
	Train   int    `json:"train"`
	Dev     int    `json:"dev"`
	Test    int    `json:"test"`
}

// SeedRun is what one seed's swarms recorded.
type SeedRun struct {
	Seed      int        `json:"seed"`
	Swarm     string     `json:"swarm"`   // genesis CID
	Genesis   string     `json:"genesis"` // initial body CID
	Rounds    []Round    `json:"rounds"`
	OneRound  Round      `json:"one_round"`
	Examples  int        `json:"examples"` // examples all ColD contributors trained on (the multitask budget)
	Sweep     []SweepRun `json:"sweep,omitempty"`
	Multitask string     `json:"multitask"` // multitask body CID
}

// SweepRun is one run of the contributors-per-round sweep.
type SweepRun struct {
	PerRound int     `json:"per_round"`
	MaxTrain int     `json:"max_train"` // examples per contributor
	Rounds   []Round `json:"rounds"`
}

// Run performs the whole experiment: every seed, baseline and evaluation.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	log := newLogger(cfg.Progress)
	tasks, mc, err := loadTasks(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkAttackers(cfg, seen(tasks)); err != nil {
		return nil, err
	}
	res := &Result{Config: cfg, Model: mc.Encode()}
	for _, t := range tasks {
		log.printf("%s (%s)", data.Summary(t.Task), t.Group)
		res.Tasks = append(res.Tasks, TaskInfo{Name: t.Name, Group: t.Group, Path: t.Path, Classes: len(t.Labels),
			Train: len(t.Train), Dev: len(t.Dev), Test: len(t.Test)})
	}
	for seed := 1; seed <= cfg.Seeds; seed++ {
		s := &seedRun{cfg: cfg, seed: seed, tasks: tasks, mc: mc, log: log}
		sr, scores, err := s.run(ctx)
		if err != nil {
			return nil, fmt.Errorf("seed %d: %w", seed, err)
		}
		res.Seeds = append(res.Seeds, sr)
		res.Scores = append(res.Scores, scores...)
	}
	res.Seconds = time.Since(start).Seconds()
	log.printf("done in %s", time.Since(start).Round(time.Second))
	return res, nil
}

// seedRun is one replicate: its own genesis, swarm, baselines and scores.
type seedRun struct {
	cfg   Config
	seed  int
	tasks []*Task
	mc    model.Config
	log   *logger
	out   SeedRun
}

func (s *seedRun) run(ctx context.Context) (SeedRun, []Score, error) {
	s.out.Seed = s.seed
	gf, err := model.InitBody(s.mc, uint64(s.seed))
	if err != nil {
		return s.out, nil, fmt.Errorf("lab: genesis body: %w", err)
	}
	genesis, err := checkpoint.Encode(gf)
	if err != nil {
		return s.out, nil, fmt.Errorf("lab: genesis body: %w", err)
	}
	sw, err := newSwarm(fmt.Sprintf("coldnode-lab-seed-%d", s.seed), s.mc.Encode(), s.cfg.Rule, genesis, s.tasks, uint64(s.seed))
	if err != nil {
		return s.out, nil, err
	}
	s.out.Swarm, s.out.Genesis = sw.id.String(), sw.genesis.Weights.String()
	bodies, singles, err := s.models(ctx, sw, gf, genesis)
	if err != nil {
		return s.out, nil, err
	}
	ev := &evaluator{cfg: s.cfg, seed: s.seed, tasks: s.tasks, log: s.log}
	s.log.printf("seed %d: evaluating %d bodies on %d tasks, finetune and probe", s.seed, len(bodies), len(s.tasks))
	scores, err := ev.score(ctx, bodies, s.cfg.protocols())
	if err != nil {
		return s.out, nil, err
	}
	sweep, err := s.sweep(ctx, sw, genesis, ev)
	if err != nil {
		return s.out, nil, err
	}
	return s.out, append(append(scores, singles...), sweep...), nil
}

// models runs ColD Fusion and the trained baselines and returns the bodies
// to evaluate and the single-task scores.
func (s *seedRun) models(ctx context.Context, sw *swarm, gf *checkpoint.File, genesis []byte) ([]body, []Score, error) {
	cr := &coldRun{cfg: s.cfg, seed: uint64(s.seed), seen: seen(s.tasks), swarm: sw, perRound: s.cfg.PerRound,
		label: fmt.Sprintf("seed %d cold", s.seed), log: s.log}
	ch, err := cr.run(ctx, genesis)
	if err != nil {
		return nil, nil, err
	}
	s.out.Rounds, s.out.Examples = ch.Rounds, ch.Examples
	bodies := []body{{model: ModelGenesis, round: 0, data: genesis}}
	for r := 1; r < len(ch.Bases); r++ {
		if s.cfg.evaluated(r) {
			bodies = append(bodies, body{model: ModelColD, round: r, data: ch.Bases[r]})
		}
	}
	if s.cfg.NoBaselines {
		return bodies, nil, nil
	}
	once, singles, err := s.oneRound(ctx, sw, gf, genesis)
	if err != nil {
		return nil, nil, err
	}
	s.log.printf("seed %d: multitask on %d examples", s.seed, ch.Examples)
	mt, err := multitask(ctx, gf, seen(s.tasks), ch.Examples, s.cfg.Contrib, derive(uint64(s.seed), 0x3717))
	if err != nil {
		return nil, nil, err
	}
	mc, err := fileCID(mt)
	if err != nil {
		return nil, nil, err
	}
	s.out.Multitask = mc.String()
	bodies = append(bodies, body{model: ModelOneRound, round: 1, data: once}, body{model: ModelMultitask, round: 0, data: mt})
	return bodies, singles, nil
}

// oneRound finetunes every seen task from genesis with the one-shot epoch
// budget and fuses them once. The same models are the single-task baseline.
func (s *seedRun) oneRound(ctx context.Context, sw *swarm, gf *checkpoint.File, genesis []byte) ([]byte, []Score, error) {
	st := seen(s.tasks)
	s.log.printf("seed %d: one-round fusion of %d tasks, %d epochs each", s.seed, len(st), s.cfg.OneShotEpochs())
	cs := make([]contribution, len(st))
	err := parallel(ctx, len(st), s.cfg.Workers, func(ctx context.Context, i int) error {
		opt := s.cfg.Contrib
		opt.Epochs, opt.Seed = s.cfg.OneShotEpochs(), derive(uint64(s.seed), 0, uint64(i), 0x0e)
		c, err := finetuneDelta(ctx, gf, st[i], opt)
		if err != nil {
			return fmt.Errorf("lab: one-round fusion: %w", err)
		}
		cs[i] = c
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	fused, rec, _, err := sw.close(1, sw.id, genesis, cs)
	if err != nil {
		return nil, nil, err
	}
	s.out.OneRound = rec
	var singles []Score
	for i, c := range cs {
		singles = append(singles, Score{Seed: s.seed, Model: ModelSingle, Round: 0, Protocol: Finetune, Group: Seen,
			Task: st[i].Name, Accuracy: c.Test.Accuracy, MacroF1: c.Test.MacroF1, N: c.Test.N})
	}
	return fused, singles, nil
}

// sweep runs ColD Fusion with each sweep count of contributors per round,
// the examples per round fixed at cfg.Budget(), scored by linear probe.
func (s *seedRun) sweep(ctx context.Context, sw *swarm, genesis []byte, ev *evaluator) ([]Score, error) {
	var scores []Score
	for _, n := range s.cfg.Sweep {
		share := s.cfg.Budget() / n
		cr := &coldRun{cfg: s.cfg, seed: uint64(s.seed), seen: capTrain(seen(s.tasks), share), swarm: sw, perRound: n,
			label: fmt.Sprintf("seed %d %s", s.seed, SweepModel(n)), log: s.log}
		ch, err := cr.run(ctx, genesis)
		if err != nil {
			return nil, err
		}
		s.out.Sweep = append(s.out.Sweep, SweepRun{PerRound: n, MaxTrain: share, Rounds: ch.Rounds})
		var bodies []body
		for r := 1; r < len(ch.Bases); r++ {
			if s.cfg.evaluated(r) {
				bodies = append(bodies, body{model: SweepModel(n), round: r, data: ch.Bases[r]})
			}
		}
		sc, err := ev.score(ctx, bodies, []string{Probe})
		if err != nil {
			return nil, err
		}
		scores = append(scores, sc...)
	}
	return scores, nil
}

// capTrain returns copies of tasks whose training splits keep about n
// examples each (see capSplit).
func capTrain(tasks []*Task, n int) []*Task {
	out := make([]*Task, len(tasks))
	for i, t := range tasks {
		c := *t.Task
		c.Train = capSplit(c.Train, n)
		out[i] = &Task{Task: &c, Group: t.Group, Path: t.Path}
	}
	return out
}
