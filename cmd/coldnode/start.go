package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/coldnode/coldnode/node"
	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/optim"
	"github.com/urfave/cli/v2"
)

func init() {
	d := node.DefaultConfig()
	register(&cli.Command{
		Name:  "start",
		Usage: "run a node: join the swarm, train on the local dataset each round, fuse, repeat",
		Flags: []cli.Flag{
			repoFlag(),
			&cli.StringFlag{Name: "dataset", Usage: "the local private dataset `PATH` (task directory, JSONL, CSV or TSV)", Required: true},
			&cli.StringFlag{Name: "task", Usage: "task name reported with contributions (default: the dataset's name)"},
			&cli.StringFlag{Name: "swarm", Usage: "swarm `ID` to join (the genesis CID); fetched from peers when the repository has none"},
			&cli.StringSliceFlag{Name: "bootstrap", Usage: "peer `MULTIADDR` (ending in /p2p/ID) to join through; repeatable"},
			&cli.StringSliceFlag{Name: "listen", Usage: "libp2p listen `MULTIADDR`; repeatable", Value: cli.NewStringSlice(d.Listen...)},
			&cli.IntFlag{Name: "rounds", Usage: "stop once the chain has N rounds (0: run until interrupted)"},
			&cli.StringFlag{Name: "api", Value: d.API, Usage: "loopback `ADDR` of the HTTP API (port 0 picks one)"},
			&cli.BoolFlag{Name: "no-mdns", Usage: "turn off local-network discovery"},
			&cli.IntFlag{Name: "limit", Usage: "train on at most N examples per round (0: all)"},
			&cli.IntFlag{Name: "epochs", Usage: "local finetuning epochs per round (0: the trainer's default)"},
			&cli.Int64Flag{Name: "seed", Value: d.Seed, Usage: "seed of local training"},
			&cli.StringFlag{Name: "moments", Value: "auto", Usage: "AdamW moment precision of local training: fp32, bf16 (half the optimiser's memory), int8 (a quarter: 8-bit block-wise codes), " +
				"or auto: each round the most precise of these whose training fits in the memory budget (--memlimit when a size, else 90% of the machine's memory)",
				Action: func(_ *cli.Context, s string) error { return checkMoments(s) }},
			&cli.StringFlag{Name: "delta-encoding", Value: d.DeltaEncoding, Usage: "how this node writes its deltas: dense, fp16, bf16, int8, with rows+ (touched rows only) and +zstd, e.g. rows+int8+zstd; peers fuse any mix"},
			&cli.DurationFlag{Name: "genesis-timeout", Value: d.GenesisTimeout, Usage: "how long to look for the swarm's genesis among peers when joining"},
			&cli.IntFlag{Name: "gc-every", Value: d.GCEvery, Usage: "collect garbage every N rounds (0: never; see `coldnode repo gc`)"},
			&cli.BoolFlag{Name: "check-after-training", Usage: "hold the checks of other deltas of the round being trained until this node's training ends, so the round's running sum (2x the body) never lives beside the trainer: a lower peak memory, a later close when contributions arrive together"},
			&cli.IntFlag{Name: "low-peers", Usage: "redial bootstrap and known peers when fewer than N are connected (0: 4)"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "debug logging"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of the whole run to `FILE` (go tool pprof)"},
			&cli.IntFlag{Name: "gc-percent", Value: nodeGCPercent, Usage: "the Go collector's GOGC for the node: the heap may grow to (1 + N/100) x its live bytes between collections (0: the runtime's default; the GOGC environment variable overrides this flag)"},
			memLimitFlag(),
			&cli.StringFlag{Name: "memprofile", Usage: "write the heap profile of the largest live heap to `FILE` (go tool pprof) and, at exit, the split of the peak resident set to stderr"},
		},
		Action: func(c *cli.Context) error {
			cfg := startConfig(c)
			if path := c.String("cpuprofile"); path != "" {
				stop, err := startCPUProfile(path)
				if err != nil {
					return err
				}
				defer stop()
			}
			setGCPercent(c.Int("gc-percent"))
			log := startLogger(c)
			stopLimit, budget, err := startMemLimit(c.Context, c.String("memlimit"), log)
			if err != nil {
				return err
			}
			defer stopLimit()
			cfg.MemoryBudget = budget
			if path := c.String("memprofile"); path != "" {
				defer startMemProfile(path, 10*time.Millisecond, c.App.ErrWriter)()
			}
			repo, err := node.Open(c.String("repo"))
			if err != nil {
				return err
			}
			defer repo.Close()
			n, err := node.New(repo, cfg, startOptions(c, log)...)
			if err != nil {
				return err
			}
			return n.Run(c.Context)
		},
	})
}

// nodeGCPercent is the node's default GOGC. A node's heap is mostly
// tensors without pointers (weights, gradients, moments, sums, delta
// files), which a collection does not scan, so collecting 4x as often as
// the runtime's default (100) costs little CPU; what it saves is the
// garbage of the round path (decoded and encoded deltas, files read
// whole, fused blocks), which at 100 may reach the live heap's size
// before a collection (docs/benchmarks.md, item 6).
const nodeGCPercent = 25

// setGCPercent sets the collector's GOGC to p unless p is 0 or the
// environment sets GOGC.
func setGCPercent(p int) {
	if _, ok := os.LookupEnv("GOGC"); ok || p <= 0 {
		return
	}
	debug.SetGCPercent(p)
}

func startConfig(c *cli.Context) node.Config {
	cfg := node.DefaultConfig()
	cfg.Dataset, cfg.Task, cfg.Swarm = c.String("dataset"), c.String("task"), c.String("swarm")
	cfg.Bootstrap, cfg.Listen = c.StringSlice("bootstrap"), c.StringSlice("listen")
	cfg.Rounds, cfg.API, cfg.NoMDNS = c.Int("rounds"), c.String("api"), c.Bool("no-mdns")
	cfg.Limit, cfg.Epochs, cfg.Seed = c.Int("limit"), c.Int("epochs"), c.Int64("seed")
	cfg.GenesisTimeout = c.Duration("genesis-timeout")
	cfg.DeltaEncoding = c.String("delta-encoding")
	cfg.GCEvery, cfg.LowPeers = c.Int("gc-every"), c.Int("low-peers")
	cfg.CheckAfterTraining = c.Bool("check-after-training")
	cfg.AutoMoments = c.String("moments") == "auto"
	return cfg
}

// startLogger is the node's logger: debug lines with --verbose.
func startLogger(c *cli.Context) *slog.Logger {
	level := slog.LevelInfo
	if c.Bool("verbose") {
		level = slog.LevelDebug
	}
	return node.NewLogger(c.App.ErrWriter, node.IsTerminal(os.Stderr), level)
}

// checkMoments accepts --moments: auto or a precision.
func checkMoments(s string) error {
	if s == "auto" {
		return nil
	}
	_, err := optim.ParsePrecision(s)
	return err
}

func startOptions(c *cli.Context, log *slog.Logger) []node.Option {
	opts := []node.Option{
		node.WithLogger(log),
		node.WithProgress(node.NewProgress(c.App.ErrWriter, node.IsTerminal(os.Stderr))),
		node.WithOutput(c.App.Writer),
	}
	if p, err := optim.ParsePrecision(c.String("moments")); err == nil && p != optim.FP32 { // checked by the flag's Action; auto is none
		o := train.DefaultOptions()
		o.Moments = p
		opts = append(opts, node.WithTrainOptions(o))
	}
	return opts
}
