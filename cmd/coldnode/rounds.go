package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/coldnode/coldnode/node"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "rounds",
		Usage: "list the closed rounds of the node's chain, oldest first",
		Flags: []cli.Flag{repoFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			return withBackend(c, func(b node.Backend) error {
				rs, err := b.Rounds(c.Context)
				if err != nil {
					return err
				}
				if c.Bool("json") {
					if rs == nil {
						rs = []node.RoundInfo{}
					}
					return printJSON(c.App.Writer, rs)
				}
				for _, r := range rs {
					printRoundLine(c.App.Writer, r)
				}
				return nil
			})
		},
	})
}

// printRoundLine prints one round on one line.
func printRoundLine(w io.Writer, r node.RoundInfo) {
	final := "pending"
	if r.Final {
		final = "final"
	}
	parts := make([]string, len(r.Contributions))
	for i, ct := range r.Contributions {
		parts[i] = fmt.Sprintf("%s:%s:%d:%s", shortPeer(ct.Peer), ct.Task, ct.Examples, metricsText(ct.Metrics))
	}
	fmt.Fprintf(w, "round %d record %s base %s fused %s %s contributions %d [%s]\n",
		r.Round, r.Record, r.Base, r.Fused, final, len(r.Contributions), strings.Join(parts, " "))
}

func shortPeer(p string) string {
	if len(p) > 12 {
		return "…" + p[len(p)-8:]
	}
	return p
}

func metricsText(m map[string]float64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%.4f", k, m[k])
	}
	return strings.Join(parts, ",")
}
