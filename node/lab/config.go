package lab

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/train"
)

// Config describes one lab run. Start from DefaultConfig or QuickConfig.
type Config struct {
	Seen   []string // task paths the contributors hold (see data.Load)
	Unseen []string // task paths only used for evaluation

	// Model is bag, encoder, mlp or the path of a JSON model config.
	Model string
	// Buckets overrides the hashed-token table size of bag and encoder
	// models named by architecture (0: the architecture's default).
	Buckets int

	Rounds   int    // ColD Fusion rounds
	PerRound int    // contributors sampled from the seen tasks each round
	Seeds    int    // independent replicates, seeds 1..Seeds
	Rule     string // fusion rule (fusion.ParseRule); the swarm default is "mean"

	// Subsampling of every task, by content hash (0: keep all).
	MaxTrain, MaxDev, MaxTest int

	Contrib  train.Options // a contributor's local finetuning each round
	Finetune train.Options // the finetune evaluation protocol
	Probe    train.Options // the linear-probe evaluation protocol

	// Sweep lists contributors-per-round counts for the fixed-data ablation:
	// each round uses Budget() examples in total, split evenly among the
	// contributors. Evaluated with the probe protocol. Empty: no sweep.
	Sweep []int

	// Attack is what the attackers send instead of their honest delta
	// (ParseAttack: "", none, scale:F, signflip:F, noise:F, backdoor:CLASS).
	// The contributors holding the first Attackers seen tasks attack in every
	// round they take part in. A backdoor with Attackers 0 is the control:
	// nobody attacks and the trigger is scored on the first seen task.
	Attack    string
	Attackers int
	// NoBaselines skips the fuse-once, multitask and single-task baselines.
	NoBaselines bool
	// Protocols lists the evaluation protocols to run (empty: both).
	Protocols []string

	// DeltaEncoding is how contributors write their deltas
	// (deltaenc.Parse; "" or "dense": plain float32, the default here).
	DeltaEncoding string

	// EvalEvery evaluates the ColD bases (and the sweep's) only every k
	// rounds and at the last round; 0 or 1: every round.
	EvalEvery int

	Workers  int       // parallel training jobs (results do not depend on it)
	Progress io.Writer // progress lines (nil: none)
}

// DefaultConfig is the documented full run: a bag model with 2^15 buckets,
// 20 rounds of 4 contributors training 2 epochs each, 3 seeds, tasks capped
// at 2,000 training examples, evaluation by finetuning (up to 10 epochs,
// early stopping on dev) and linear probe (up to 6 epochs), and the sweep
// over 2, 4 and 8 contributors per round.
func DefaultConfig() Config {
	c := train.DefaultOptions()
	c.Epochs, c.Patience = 2, 0
	ft := train.DefaultOptions()
	ft.Epochs, ft.Patience = 10, 2
	pr := train.DefaultOptions()
	pr.Epochs, pr.Patience, pr.LR = 6, 2, 1e-2
	return Config{
		Model: "bag", Buckets: 1 << 15, Rounds: 20, PerRound: 4, Seeds: 3, Rule: "mean",
		MaxTrain: 2000, MaxDev: 500, MaxTest: 1000,
		Contrib: c, Finetune: ft, Probe: pr, Sweep: []int{2, 4, 8}, Workers: 2, Attackers: 1,
	}
}

// QuickConfig is a small run for CI: 2 rounds of 2 contributors, 1 seed,
// tasks capped at 300 training examples, 1-2 epochs, no sweep.
func QuickConfig() Config {
	c := DefaultConfig()
	c.Buckets, c.Rounds, c.PerRound, c.Seeds = 1<<12, 2, 2, 1
	c.MaxTrain, c.MaxDev, c.MaxTest = 300, 100, 150
	c.Contrib.Epochs, c.Finetune.Epochs, c.Probe.Epochs = 1, 2, 2
	c.Sweep = nil
	return c
}

// Budget is the number of training examples a sweep round uses in total:
// the training cap times the smallest sweep count, so every contributor's
// share (Budget()/n) fits in the capped task.
func (c Config) Budget() int {
	if len(c.Sweep) == 0 {
		return 0
	}
	return slices.Min(c.Sweep) * c.MaxTrain
}

// OneShotEpochs is the epoch budget of each seen task in the one-round and
// single-task baselines: the contributions a seen task makes in expectation
// over all rounds, times the contributor's epochs (at least one contribution).
func (c Config) OneShotEpochs() int {
	n := (c.Rounds*c.PerRound + len(c.Seen) - 1) / max(len(c.Seen), 1)
	return max(n, 1) * c.Contrib.Epochs
}

// Validate reports the first setting that cannot run.
func (c Config) Validate() error {
	if err := c.validateTasks(); err != nil {
		return err
	}
	switch {
	case c.Rounds < 1 || c.Rounds > 1000:
		return fmt.Errorf("lab: --rounds %d out of range 1..1000", c.Rounds)
	case c.PerRound < 1 || c.PerRound > len(c.Seen):
		return fmt.Errorf("lab: --per-round %d must be in 1..%d (the number of seen tasks)", c.PerRound, len(c.Seen))
	case c.Seeds < 1 || c.Seeds > 100:
		return fmt.Errorf("lab: --seeds %d out of range 1..100", c.Seeds)
	case c.MaxTrain < 0 || c.MaxDev < 0 || c.MaxTest < 0:
		return fmt.Errorf("lab: subsampling caps must be >= 0")
	case c.EvalEvery < 0:
		return fmt.Errorf("lab: --eval-every %d must be >= 0", c.EvalEvery)
	case c.Workers < 1 || c.Workers > 64:
		return fmt.Errorf("lab: workers %d out of range 1..64", c.Workers)
	}
	if _, err := fusion.ParseRule(c.Rule); err != nil {
		return fmt.Errorf("lab: --rule: %w", err)
	}
	if _, err := c.deltaEncoding(); err != nil {
		return err
	}
	if err := c.validateSweep(); err != nil {
		return err
	}
	if err := c.validateAttack(); err != nil {
		return err
	}
	return errors.Join(optErr("contributor", c.Contrib), optErr("finetune", c.Finetune), optErr("probe", c.Probe))
}

func (c Config) validateTasks() error {
	if len(c.Seen) == 0 {
		return fmt.Errorf("lab: no seen tasks; give at least one --seen TASK_DIR")
	}
	all := append(append([]string(nil), c.Seen...), c.Unseen...)
	for i, p := range all {
		if slices.Index(all, p) != i {
			return fmt.Errorf("lab: task %s is listed twice; a task is either seen or unseen, once", p)
		}
	}
	return nil
}

func (c Config) validateSweep() error {
	for i, n := range c.Sweep {
		if slices.Index(c.Sweep, n) != i {
			return fmt.Errorf("lab: --sweep lists %d twice", n)
		}
		if n < 1 || n > len(c.Seen) {
			return fmt.Errorf("lab: --sweep %d must be in 1..%d (the number of seen tasks)", n, len(c.Seen))
		}
		if c.MaxTrain == 0 {
			return fmt.Errorf("lab: --sweep needs a training cap (--max-train) to fix the data per round")
		}
	}
	return nil
}

func optErr(what string, o train.Options) error {
	if err := o.Validate(); err != nil {
		return fmt.Errorf("lab: %s options: %w", what, err)
	}
	return nil
}

// evaluated says whether the base after round r is scored.
func (c Config) evaluated(r int) bool {
	return c.EvalEvery <= 1 || r%c.EvalEvery == 0 || r == c.Rounds
}

func (c Config) validateAttack() error {
	a, err := ParseAttack(c.Attack)
	if err != nil {
		return err
	}
	lo := 1
	if a.Kind == AttackBackdoor {
		lo = 0 // the control: nobody attacks, the trigger is still scored
	}
	if a.Kind != AttackNone && (c.Attackers < lo || c.Attackers >= c.PerRound) {
		return fmt.Errorf("lab: --attackers %d must be in %d..%d (fewer than the contributors per round)", c.Attackers, lo, c.PerRound-1)
	}
	for _, p := range c.Protocols {
		if p != Finetune && p != Probe {
			return fmt.Errorf("lab: --protocols: unknown protocol %q (want %s or %s)", p, Finetune, Probe)
		}
	}
	return nil
}

// attack is the parsed Attack (Validate has checked it).
func (c Config) attack() Attack {
	a, _ := ParseAttack(c.Attack)
	return a
}

// attacker says whether the contributor holding seen task i attacks.
func (c Config) attacker(i int) bool {
	return c.attack().Kind != AttackNone && i < c.Attackers
}

// triggerScored says whether the backdoor's success is scored on seen task i.
func (c Config) triggerScored(i int) bool {
	return c.attack().Kind == AttackBackdoor && i < max(c.Attackers, 1)
}

// protocols returns the evaluation protocols to run.
func (c Config) protocols() []string {
	if len(c.Protocols) == 0 {
		return []string{Finetune, Probe}
	}
	return c.Protocols
}
