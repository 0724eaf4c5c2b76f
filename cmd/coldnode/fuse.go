package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/consensus/fusion/fusionfs"
	"github.com/coldnode/coldnode/p2p/ufs"
)

func init() {
	register(&cli.Command{
		Name:  "fuse",
		Usage: "fuse deltas into a base exactly as the swarm does and print the fused file's CID",
		Description: "Deltas are ordered by their CIDs and combined body tensor by body tensor; head tensors are\n" +
			"left out. Any safetensors whose body tensors match the base's (F32, same names and shapes) is\n" +
			"accepted, whether written by coldnode or PyTorch.",
		ArgsUsage: "--base FILE DELTA... -o FILE",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "base", Usage: "the current base model `FILE`"},
			&cli.StringFlag{Name: "rule", Value: "mean", Usage: "combining `RULE`: mean, weighted, median, trimmed:F, optionally after clip:NORM,"},
			&cli.StringFlag{Name: "examples", Usage: "examples per delta for the weighted rule, `N,N,...` in DELTA order (default: each delta's coldnode.examples metadata)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the fused model to `FILE`"},
		},
		Action: fuseAction,
	})
}

func fuseAction(c *cli.Context) error {
	paths, err := interspersed(c)
	if err != nil {
		return err
	}
	if err := requireFlags(c, len(paths)); err != nil {
		return err
	}
	rule, err := fusion.ParseRule(c.String("rule"))
	if err != nil {
		return fmt.Errorf("fuse: --rule: %w", err)
	}
	deltas, err := fuseDeltas(paths, c.String("examples"))
	if err != nil {
		return err
	}
	out := c.String("output")
	st, err := fusionfs.FuseFiles(c.String("base"), deltas, rule, out)
	if err != nil {
		return fmt.Errorf("fuse: %w", err)
	}
	id, err := fileCID(out)
	if err != nil {
		return fmt.Errorf("fuse: %w", err)
	}
	fmt.Fprintf(c.App.ErrWriter, "fused %d deltas with %s: %d body tensors, %d values, %d bytes -> %s\n",
		len(deltas), rule, st.Tensors, st.Elems, st.Bytes, out)
	fmt.Fprintln(c.App.Writer, id)
	return nil
}

// interspersed returns the delta paths, applying any flags that follow
// them (urfave/cli stops reading flags at the first argument).
func interspersed(c *cli.Context) ([]string, error) {
	args := c.Args().Slice()
	var paths []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			paths = append(paths, a)
			continue
		}
		name, val, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !ok {
			if i+1 == len(args) {
				return nil, fmt.Errorf("fuse: flag %s needs a value", a)
			}
			i++
			val = args[i]
		}
		if err := c.Set(canonicalFlag(c, name), val); err != nil {
			return nil, fmt.Errorf("fuse: unknown flag %s (see coldnode fuse --help)", a)
		}
	}
	return paths, nil
}

// canonicalFlag maps an alias (-o) to the flag's first name (output),
// which is where urfave/cli reads values from.
func canonicalFlag(c *cli.Context, name string) string {
	for _, f := range c.Command.Flags {
		if slices.Contains(f.Names(), name) {
			return f.Names()[0]
		}
	}
	return name
}

func requireFlags(c *cli.Context, nDeltas int) error {
	switch {
	case c.String("base") == "":
		return fmt.Errorf("fuse: --base FILE is required (usage: coldnode fuse --base FILE DELTA... -o FILE)")
	case c.String("output") == "":
		return fmt.Errorf("fuse: -o FILE is required (usage: coldnode fuse --base FILE DELTA... -o FILE)")
	case nDeltas == 0:
		return fmt.Errorf("fuse: no DELTA files given (usage: coldnode fuse --base FILE DELTA... -o FILE)")
	}
	return nil
}

// fuseDeltas identifies each delta by its CID, as the swarm does, and
// attaches example counts from --examples.
func fuseDeltas(paths []string, examples string) ([]fusionfs.Delta, error) {
	counts, err := parseExamples(examples, len(paths))
	if err != nil {
		return nil, err
	}
	deltas := make([]fusionfs.Delta, len(paths))
	for i, p := range paths {
		id, err := fileCID(p)
		if err != nil {
			return nil, fmt.Errorf("fuse: %w", err)
		}
		deltas[i] = fusionfs.Delta{Path: p, ID: id, Examples: counts[i]}
	}
	return deltas, nil
}

func parseExamples(s string, n int) ([]int64, error) {
	counts := make([]int64, n)
	if s == "" {
		return counts, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, fmt.Errorf("fuse: --examples has %d counts for %d deltas", len(parts), n)
	}
	for i, p := range parts {
		v, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("fuse: --examples: %q is not a positive count", p)
		}
		counts[i] = v
	}
	return counts, nil
}

func fileCID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	id, err := ufs.CID(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return id.String(), nil
}
