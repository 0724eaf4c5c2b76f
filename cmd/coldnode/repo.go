package main

import (
	"fmt"

	"github.com/coldnode/coldnode/node"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "repo",
		Usage: "maintain the repository",
		Subcommands: []*cli.Command{{
			Name: "gc",
			Usage: "pin what the node must keep (genesis, the chain's records, bases and fused files back to the " +
				"final record, deltas of non-final rounds, its own contributions) and delete every other block",
			Flags: []cli.Flag{repoFlag(), jsonFlag()},
			Action: func(c *cli.Context) error {
				rep, err := node.CollectGarbage(c.Context, c.String("repo"))
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return printJSON(c.App.Writer, rep)
				}
				fmt.Fprintf(c.App.Writer, "removed %d blocks (%d bytes), kept %d blocks under %d pins\n",
					rep.Removed, rep.Freed, rep.Kept, rep.Pins)
				return nil
			},
		}},
	})
}
