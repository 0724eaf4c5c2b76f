package main

import (
	"fmt"

	"github.com/coldnode/coldnode/node"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "show",
		Usage:     "decode a genesis, record, contribution or weights file by CID",
		ArgsUsage: "CID",
		Flags:     []cli.Flag{repoFlag()},
		Action: func(c *cli.Context) error {
			args, err := positional(c)
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return fmt.Errorf("show: want one CID, got %d arguments", len(args))
			}
			return withBackend(c, func(b node.Backend) error {
				o, err := b.Show(c.Context, args[0])
				if err != nil {
					return err
				}
				return printJSON(c.App.Writer, o)
			})
		},
	})
}
