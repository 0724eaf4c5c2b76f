package main

import (
	"fmt"
	"strconv"

	"github.com/coldnode/coldnode/node"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "round",
		Usage:     "show one closed round in detail",
		ArgsUsage: "N",
		Flags:     []cli.Flag{repoFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			args, err := positional(c)
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return fmt.Errorf("round: want one round number, got %d arguments", len(args))
			}
			n, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || n < 1 {
				return fmt.Errorf("round: %q is not a round number (1, 2, ...)", args[0])
			}
			return withBackend(c, func(b node.Backend) error {
				r, err := b.Round(c.Context, n)
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return printJSON(c.App.Writer, r)
				}
				printRound(c, r)
				return nil
			})
		},
	})
}

func printRound(c *cli.Context, r node.RoundInfo) {
	w := c.App.Writer
	fmt.Fprintf(w, "round   %d\nrecord  %s\nparent  %s\nbase    %s\nfused   %s\nfinal   %v\n",
		r.Round, r.Record, r.Parent, r.Base, r.Fused, r.Final)
	for _, ct := range r.Contributions {
		fmt.Fprintf(w, "contribution %s\n  peer %s\n  task %s\n  delta %s\n  examples %d\n  metrics %s\n",
			ct.CID, ct.Peer, ct.Task, ct.Delta, ct.Examples, metricsText(ct.Metrics))
	}
}
