package main

import (
	"errors"
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
		}, {
			Name: "verify",
			Usage: "check a stopped node's repository: re-hash every block against its CID, parse the journals, " +
				"the round index and the own-contribution log, and check that what they name is stored",
			Flags:  []cli.Flag{repoFlag(), jsonFlag()},
			Action: repoVerify,
		}},
	})
}

func repoVerify(c *cli.Context) error {
	rep, err := node.VerifyRepo(c.Context, c.String("repo"))
	if c.Bool("json") && (err == nil || errors.Is(err, node.ErrDamaged)) {
		if perr := printJSON(c.App.Writer, rep); perr != nil {
			return perr
		}
		return err
	}
	if err != nil && !errors.Is(err, node.ErrDamaged) {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%d blocks (%d bytes) re-hashed, %d journalled (%d removed by gc), %d verdicts, %d rounds, %d own contributions; %d torn journal tails\n",
		rep.Blocks, rep.Bytes, rep.Journal, rep.Gone, rep.Verdicts, rep.Rounds, rep.Own, rep.Torn)
	for _, p := range rep.Problems {
		fmt.Fprintf(c.App.Writer, "problem: %s\n", p)
	}
	return err
}
