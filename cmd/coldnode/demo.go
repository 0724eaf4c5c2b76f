package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/coldnode/coldnode/node"
	"github.com/coldnode/coldnode/node/demo"
	"github.com/urfave/cli/v2"
)

func init() {
	d := demo.DefaultConfig()
	register(&cli.Command{
		Name:  "demo",
		Usage: "run a small swarm on this machine (four nodes, four digit tasks) and chart the fused base's accuracy",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "nodes", Value: d.Nodes, Usage: "nodes in the swarm (1..4, one task each)"},
			&cli.IntFlag{Name: "rounds", Value: d.Rounds, Usage: "rounds to run"},
			&cli.IntFlag{Name: "epochs", Value: d.Epochs, Usage: "local finetuning epochs per round"},
			&cli.StringFlag{Name: "chart", Value: "coldnode-demo.png", Usage: "accuracy chart `PNG` to write"},
			&cli.StringFlag{Name: "dir", Usage: "keep the node repositories in `DIR` (default: a temporary directory, removed)"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log every node's events"},
		},
		Action: runDemo,
	})
}

func runDemo(c *cli.Context) error {
	cfg := demo.DefaultConfig()
	cfg.Nodes, cfg.Rounds, cfg.Epochs, cfg.Chart = c.Int("nodes"), c.Int("rounds"), c.Int("epochs"), c.String("chart")
	cfg.Out = c.App.Writer
	level := slog.LevelWarn
	if c.Bool("verbose") {
		level = slog.LevelInfo
	}
	cfg.Log = node.NewLogger(c.App.ErrWriter, node.IsTerminal(os.Stderr), level)
	dir, cleanup, err := demoDir(c.String("dir"))
	if err != nil {
		return err
	}
	defer cleanup()
	cfg.Dir = dir
	res, err := demo.Run(c.Context, cfg)
	if err != nil {
		return err
	}
	res.Report(c.App.Writer)
	if cfg.Chart != "" {
		fmt.Fprintf(c.App.Writer, "chart: %s\n", cfg.Chart)
	}
	if !res.Agree {
		return fmt.Errorf("demo: the nodes did not agree on the chain")
	}
	return nil
}

func demoDir(dir string) (string, func(), error) {
	if dir != "" {
		abs, err := filepath.Abs(dir)
		return abs, func() {}, err
	}
	tmp, err := os.MkdirTemp("", "coldnode-demo-")
	if err != nil {
		return "", nil, fmt.Errorf("demo: %w", err)
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}
