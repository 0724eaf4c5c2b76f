package main

import (
	"fmt"

	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/coldnode/coldnode/node/lab"
	"github.com/coldnode/coldnode/train/optim"
)

func init() {
	d := lab.DefaultConfig()
	register(&cli.Command{
		Name:  "lab",
		Usage: "reproduce ColD Fusion's experiments on one machine: rounds, baselines, seen/unseen evaluation, plots",
		Description: "Runs ColD Fusion rounds over the --seen tasks with the swarm's own training, fusion, CIDs and records,\n" +
			"the baselines (genesis body, one-round fusion, multitask, single task) and the evaluation of every body\n" +
			"on seen and unseen tasks (finetune and linear probe), then writes CSV, JSON, markdown and PNG files to --out.\n" +
			"--quick is a small preset for CI; explicit flags override it.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "seen", Required: true, Usage: "task `DIR` held by contributors; repeatable or comma-separated"},
			&cli.StringSliceFlag{Name: "unseen", Usage: "task `DIR` used only for evaluation; repeatable or comma-separated"},
			&cli.IntFlag{Name: "rounds", Value: d.Rounds, Usage: "ColD Fusion rounds"},
			&cli.IntFlag{Name: "per-round", Value: d.PerRound, Usage: "contributors sampled from the seen tasks each round"},
			&cli.StringFlag{Name: "model", Value: d.Model, Usage: "bag, encoder, mlp, or a JSON model config `FILE`"},
			&cli.IntFlag{Name: "buckets", Value: d.Buckets, Usage: "hashed-token buckets of a bag or encoder model named by architecture (0: its default)"},
			&cli.IntFlag{Name: "seeds", Value: d.Seeds, Usage: "independent replicates (seeds 1..N)"},
			&cli.StringFlag{Name: "rule", Value: d.Rule, Usage: "fusion rule (mean, weighted, median, trimmed:F, clip:N,...)"},
			&cli.IntFlag{Name: "max-train", Value: d.MaxTrain, Usage: "subsample each task's train split to about N examples (0: all)"},
			&cli.IntFlag{Name: "max-dev", Value: d.MaxDev, Usage: "subsample each dev split to about N examples (0: all)"},
			&cli.IntFlag{Name: "max-test", Value: d.MaxTest, Usage: "subsample each test split to about N examples (0: all)"},
			&cli.IntFlag{Name: "epochs", Value: d.Contrib.Epochs, Usage: "a contributor's finetuning epochs per round"},
			&cli.IntFlag{Name: "eval-epochs", Value: d.Finetune.Epochs, Usage: "maximum epochs of the finetune evaluation protocol"},
			&cli.IntFlag{Name: "probe-epochs", Value: d.Probe.Epochs, Usage: "maximum epochs of the linear-probe protocol"},
			&cli.IntSliceFlag{Name: "sweep", Value: cli.NewIntSlice(d.Sweep...), Usage: "contributors-per-round counts of the fixed-data sweep (0 alone: none)"},
			&cli.IntFlag{Name: "eval-every", Usage: "evaluate the ColD bases only every N rounds and at the last (0: every round)"},
			&cli.IntFlag{Name: "workers", Value: d.Workers, Usage: "parallel training jobs (results do not depend on it)"},
			&cli.StringFlag{Name: "attack", Usage: "poisoning: KIND[:PARAM], one of scale[:F] (default x100), signflip[:F], noise[:F] (F x an honest delta's norm), collude[:F] (all attackers send -F x the mean of their honest deltas) or backdoor[:CLASS] (trigger token, labels flipped to CLASS)"},
			&cli.IntFlag{Name: "attackers", Value: d.Attackers, Usage: "with --attack: the contributors holding the first N seen tasks attack"},
			&cli.BoolFlag{Name: "no-baselines", Usage: "skip the fuse-once, multitask and single-task baselines"},
			&cli.StringSliceFlag{Name: "protocols", Usage: "evaluation protocols to run: finetune, probe (default both)"},
			&cli.StringFlag{Name: "delta-encoding", Usage: "how contributors write their deltas: dense (default), fp16, bf16, int8, with rows+ and +zstd (see coldnode start)"},
			&cli.StringFlag{Name: "moments", Value: d.Contrib.Moments.String(), Usage: "AdamW moment precision of the contributors' training: fp32, bf16 or int8 (see coldnode start; also the fuse-once and multitask baselines; the evaluation protocols keep theirs)",
				Action: func(_ *cli.Context, s string) error { _, err := optim.ParsePrecision(s); return err }},
			&cli.StringFlag{Name: "out", Value: "lab-out", Usage: "output `DIR`"},
			&cli.BoolFlag{Name: "quick", Usage: "small preset: 2 rounds of 2, 1 seed, ~300 examples per task, no sweep"},
		},
		ArgsUsage: " ",
		Action:    labAction,
	})
}

func labAction(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return fmt.Errorf("lab: unexpected arguments %v; list tasks as --seen a,b,c or repeat --seen (and --unseen)", c.Args().Slice())
	}
	cfg := labConfig(c)
	cfg.Progress = c.App.ErrWriter
	res, err := lab.Run(c.Context, cfg)
	if err != nil {
		return err
	}
	out := c.String("out")
	if err := lab.Write(out, res); err != nil {
		return err
	}
	rep := lab.NewReport(res)
	for _, f := range rep.Findings {
		fmt.Fprintf(c.App.Writer, "finding %d: %s\n", f.ID, f.Verdict)
	}
	fmt.Fprintf(c.App.Writer, "wrote %s (and CSV, JSON, PNG files) in %.0f s\n", filepath.Join(out, lab.FileMarkdown), res.Seconds)
	return nil
}

// labConfig starts from the default or quick preset and applies the flags
// the user set.
func labConfig(c *cli.Context) lab.Config {
	cfg := lab.DefaultConfig()
	if c.Bool("quick") {
		cfg = lab.QuickConfig()
	}
	cfg.Seen, cfg.Unseen = c.StringSlice("seen"), c.StringSlice("unseen")
	ints := map[string]*int{
		"rounds": &cfg.Rounds, "per-round": &cfg.PerRound, "buckets": &cfg.Buckets, "seeds": &cfg.Seeds,
		"max-train": &cfg.MaxTrain, "max-dev": &cfg.MaxDev, "max-test": &cfg.MaxTest, "epochs": &cfg.Contrib.Epochs,
		"eval-epochs": &cfg.Finetune.Epochs, "probe-epochs": &cfg.Probe.Epochs, "workers": &cfg.Workers, "eval-every": &cfg.EvalEvery,
		"attackers": &cfg.Attackers,
	}
	for name, p := range ints {
		if c.IsSet(name) {
			*p = c.Int(name)
		}
	}
	if c.IsSet("model") {
		cfg.Model = c.String("model")
	}
	if c.IsSet("rule") {
		cfg.Rule = c.String("rule")
	}
	cfg.Attack, cfg.NoBaselines, cfg.Protocols = c.String("attack"), c.Bool("no-baselines"), c.StringSlice("protocols")
	cfg.DeltaEncoding = c.String("delta-encoding")
	if p, err := optim.ParsePrecision(c.String("moments")); err == nil { // checked by the flag's Action
		cfg.Contrib.Moments = p
	}
	if c.IsSet("sweep") {
		cfg.Sweep = sweepFlag(c.IntSlice("sweep"))
	}
	return cfg
}

func sweepFlag(v []int) []int {
	if len(v) == 1 && v[0] == 0 {
		return nil
	}
	return v
}
