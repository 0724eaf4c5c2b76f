package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/coldnode/coldnode/node/swarmbench"
	"github.com/coldnode/coldnode/train/deltaenc"
)

func init() {
	d := swarmbench.DefaultConfig()
	register(&cli.Command{
		Name:  "bench",
		Usage: "measure the swarm on this machine",
		Subcommands: []*cli.Command{{
			Name:  "round",
			Usage: "run real `coldnode start` processes on loopback and time their rounds against one node alone",
			Description: "For each --nodes count, starts that many node processes (quorum = the count, window --window)\n" +
				"that train, exchange deltas and fuse --rounds rounds, then reports per round the time from the last\n" +
				"contribution's announcement to the last node adopting the fused head and the CPU all nodes spent\n" +
				"in that time (user and system, read from /proc on Linux), and per process the peak RSS against the\n" +
				"body size, CPU time and bytes fetched. --baseline first runs one node with quorum 1 on the same model\n" +
				"and training.",
			Flags: []cli.Flag{
				&cli.IntSliceFlag{Name: "nodes", Value: cli.NewIntSlice(4), Usage: "node process counts to run, e.g. 4,8,16"},
				&cli.IntFlag{Name: "rounds", Value: d.Rounds, Usage: "rounds per run"},
				&cli.StringFlag{Name: "model", Value: "10m", Usage: "10m (a dense 10M-parameter mlp for 64-feature tasks such as digits), 125m (the same at RoBERTa-base size, 501 MB), bag10m (a 10M bag for text), small (a 70k bag for text), or a model config JSON `FILE`"},
				&cli.StringSliceFlag{Name: "dataset", Required: true, Usage: "task `PATH`s, dealt round robin to the nodes; repeatable"},
				&cli.IntSliceFlag{Name: "limit", Value: cli.NewIntSlice(d.Limits...), Usage: "training examples per node per round; several (e.g. 100,200,300,400) are dealt round robin like --dataset, so trainings differ in length"},
				&cli.IntFlag{Name: "epochs", Value: d.Epochs, Usage: "training epochs per round"},
				&cli.DurationFlag{Name: "window", Value: d.Window, Usage: "the swarm's collection window after the quorum"},
				&cli.DurationFlag{Name: "timeout", Value: d.Timeout, Usage: "give up (and kill the nodes) after this long, per run"},
				&cli.BoolFlag{Name: "baseline", Value: true, Usage: "first run one node alone (quorum 1) as the baseline"},
				&cli.StringFlag{Name: "dir", Usage: "keep repositories and logs in `DIR` (default: a temporary directory, removed)"},
				&cli.BoolFlag{Name: "verbose", Usage: "start the nodes with --verbose (debug lines time checks and fusions)"},
				&cli.StringFlag{Name: "memlimit", Usage: "each node's --memlimit: auto, off or a size such as 600MiB (default: the node's, auto)"},
				&cli.BoolFlag{Name: "profile", Usage: "write each node's CPU profile next to its log (use with --dir)"},
				&cli.StringFlag{Name: "moments", Usage: "every node's AdamW moment precision: fp32, bf16, int8 or auto (default: the node's default, auto)"},
				&cli.BoolFlag{Name: "check-after-training", Usage: "start every node with --check-after-training"},
				&cli.StringFlag{Name: "delta-encoding", Usage: "every node's --delta-encoding, e.g. rows+int8 (default: the node's default, rows+int8+zstd)"},
				&cli.BoolFlag{Name: "memprofile", Usage: "write each node's heap profile at its largest live heap next to its log, and its peak RSS split into the log (use with --dir)"},
			},
			Action: benchRound,
		}},
	})
}

func benchRound(c *cli.Context) error {
	cfg, err := benchConfig(c)
	if err != nil {
		return err
	}
	dir := c.String("dir")
	if dir == "" {
		if dir, err = os.MkdirTemp("", "coldnode-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	counts := c.IntSlice("nodes")
	if c.Bool("baseline") {
		counts = append([]int{1}, counts...)
	}
	var base *swarmbench.Report
	var reps []*swarmbench.Report
	for i, n := range counts {
		run := cfg
		run.Nodes, run.Dir = n, filepath.Join(dir, fmt.Sprintf("run%d-%dnodes", i, n))
		if err := os.MkdirAll(run.Dir, 0o755); err != nil {
			return err
		}
		rep, err := swarmbench.Run(c.Context, run)
		if err != nil {
			return fmt.Errorf("bench with %d nodes: %w", n, err)
		}
		rep.Write(c.App.Writer)
		if i == 0 && c.Bool("baseline") {
			base = rep
		} else {
			reps = append(reps, rep)
		}
	}
	swarmbench.Compare(c.App.Writer, base, reps)
	return nil
}

func benchConfig(c *cli.Context) (swarmbench.Config, error) {
	cfg := swarmbench.DefaultConfig()
	bin, err := self()
	if err != nil {
		return cfg, fmt.Errorf("bench: find the coldnode executable: %w", err)
	}
	cfg.Bin, cfg.Rounds, cfg.Datasets = bin, c.Int("rounds"), c.StringSlice("dataset")
	cfg.Limits, cfg.Epochs, cfg.Window = c.IntSlice("limit"), c.Int("epochs"), c.Duration("window")
	cfg.Timeout, cfg.Verbose, cfg.Progress = c.Duration("timeout"), c.Bool("verbose"), c.App.ErrWriter
	cfg.Profile, cfg.MemLimit = c.Bool("profile"), c.String("memlimit")
	cfg.MemProfile, cfg.Moments = c.Bool("memprofile"), c.String("moments")
	cfg.CheckAfterTraining, cfg.DeltaEncoding = c.Bool("check-after-training"), c.String("delta-encoding")
	if _, err := deltaenc.Parse(cfg.DeltaEncoding); cfg.DeltaEncoding != "" && err != nil {
		return cfg, fmt.Errorf("bench: --delta-encoding: %w", err)
	}
	switch m := c.String("model"); m {
	case "10m":
		cfg.Model = swarmbench.MLP10M
	case "125m":
		cfg.Model = swarmbench.MLP125M
	case "bag10m":
		cfg.Model = swarmbench.Bag10M
	case "small":
		cfg.Model = swarmbench.SmallBag
	default:
		b, err := os.ReadFile(m)
		if err != nil {
			return cfg, fmt.Errorf("bench: --model %q is neither 10m, 125m, bag10m, small nor a readable config file: %w", m, err)
		}
		cfg.Model = string(b)
	}
	for i, d := range cfg.Datasets {
		if cfg.Datasets[i], err = filepath.Abs(d); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// self is the path this program was started by: the node processes are
// started the same way (a symlink named coldnode stays one, which
// os.Executable would resolve).
func self() (string, error) {
	if strings.ContainsRune(os.Args[0], filepath.Separator) {
		return filepath.Abs(os.Args[0])
	}
	return exec.LookPath(os.Args[0])
}
