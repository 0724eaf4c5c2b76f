package main

import (
	"fmt"
	"strings"

	"github.com/coldnode/coldnode/node"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "peers",
		Usage: "list the peers the running node is connected to (with no node running: the peers it knew when it last ran)",
		Flags: []cli.Flag{repoFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			return withBackend(c, func(b node.Backend) error {
				ps, err := b.Peers(c.Context)
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return printJSON(c.App.Writer, ps)
				}
				if id, err := b.ID(c.Context); err == nil && !id.Online {
					msg := "no node is running on this repository, so it has no connections"
					if len(ps) > 0 {
						msg = "no node is running on this repository; the peers it was connected to when it last ran:"
					}
					fmt.Fprintln(c.App.ErrWriter, msg)
				}
				for _, p := range ps {
					fmt.Fprintf(c.App.Writer, "%s %s\n", p.Peer, strings.Join(p.Addrs, " "))
				}
				return nil
			})
		},
	})
}
