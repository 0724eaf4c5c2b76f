package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"github.com/coldnode/coldnode/node"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "export",
		Usage: "write the weights file of a CID (a base, a fused base or a delta) as safetensors",
		Description: "By default a base this node trained on gets the task head it trained there. --head adds the\n" +
			"node's most recent task head when it has none for that base (e.g. the newest fused base,\n" +
			"which nobody has trained on yet): the node's usable model right now. --body-only adds no head.",
		ArgsUsage: "CID",
		Flags: []cli.Flag{
			repoFlag(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output `FILE` (required)"},
			&cli.BoolFlag{Name: "body-only", Usage: "leave out this node's own task head even when it has one for this base"},
			&cli.BoolFlag{Name: "head", Usage: "add this node's most recent task head when it trained none on this base"},
		},
		Action: func(c *cli.Context) error {
			args, err := positional(c)
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return fmt.Errorf("export: want one CID, got %d arguments (usage: coldnode export CID -o FILE)", len(args))
			}
			if c.Bool("head") && c.Bool("body-only") {
				return fmt.Errorf("export: --head and --body-only exclude each other")
			}
			if c.String("output") == "" {
				return fmt.Errorf("export: -o FILE is required (usage: coldnode export CID -o FILE)")
			}
			return withBackend(c, func(b node.Backend) error {
				return exportTo(c, b, args[0], c.String("output"))
			})
		},
	})
}

func headMode(c *cli.Context) node.HeadMode {
	switch {
	case c.Bool("body-only"):
		return node.HeadNone
	case c.Bool("head"):
		return node.HeadLatest
	}
	return node.HeadSame
}

// exportTo writes to a temporary file beside out and renames it, so a failed
// export never leaves a partial file.
func exportTo(c *cli.Context, b node.Backend, cid, out string) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriter(tmp)
	err = b.Export(c.Context, cid, headMode(c), bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export %s: %w", cid, err)
	}
	if _, err := checkpoint.Load(tmp.Name()); err != nil {
		return fmt.Errorf("export %s: not a weights file: %w", cid, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(c.App.Writer, "wrote %s\n", out)
	return nil
}
