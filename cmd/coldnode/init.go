package main

import (
	"fmt"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/node"
	"github.com/urfave/cli/v2"
)

func init() {
	d := wire.DefaultParams()
	register(&cli.Command{
		Name:  "init",
		Usage: "create a new swarm's genesis in the repository and print its swarm ID",
		Flags: []cli.Flag{
			repoFlag(),
			&cli.StringFlag{Name: "model", Value: "bag", Usage: "bag, encoder, mlp, or a model config `JSON` file"},
			&cli.StringFlag{Name: "dataset", Usage: "a dataset `PATH` to size the model for its task (required for mlp)"},
			&cli.StringFlag{Name: "name", Value: "coldnode", Usage: "swarm label (part of the swarm ID)"},
			&cli.IntFlag{Name: "quorum", Value: d.Quorum, Usage: "contributions that let a round close"},
			&cli.DurationFlag{Name: "window", Value: d.Window, Usage: "collection window after the quorum is reached"},
			&cli.DurationFlag{Name: "deadline", Value: d.Deadline, Usage: "time after which any non-empty round closes"},
			&cli.StringFlag{Name: "rule", Value: d.Rule, Usage: "fusion rule: mean, weighted, median, trimmed:F, clip:NORM[,RULE]"},
			&cli.IntFlag{Name: "finality", Value: d.Finality, Usage: "rounds built on a record before it is final"},
			&cli.Float64Flag{Name: "norm-bound", Value: node.DefaultNormBound, Usage: "largest L2 norm of a delta's body; larger deltas are rejected (0: unbounded)"},
			&cli.StringSliceFlag{Name: "allow", Usage: "only these peer IDs may contribute (`PEERID,...`)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the initial weights"},
		},
		Action: func(c *cli.Context) error {
			opt, err := initOptions(c)
			if err != nil {
				return err
			}
			swarm, err := node.Init(c.Context, c.String("repo"), opt)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, swarm)
			return nil
		},
	})
}

func initOptions(c *cli.Context) (node.InitOptions, error) {
	opt := node.DefaultInitOptions()
	opt.Model, opt.Dataset, opt.Name, opt.Seed = c.String("model"), c.String("dataset"), c.String("name"), c.Uint64("seed")
	p := &opt.Params
	p.Quorum, p.Window, p.Deadline = c.Int("quorum"), c.Duration("window"), c.Duration("deadline")
	p.Rule, p.Finality, p.NormBound = c.String("rule"), c.Int("finality"), c.Float64("norm-bound")
	allow, err := node.ParseAllow(c.StringSlice("allow"))
	if err != nil {
		return opt, err
	}
	p.Allow = allow
	return opt, nil
}
