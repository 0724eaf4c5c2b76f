package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/coldnode/coldnode/node"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "id",
		Usage: "print this node's peer ID, addresses and swarm",
		Flags: []cli.Flag{repoFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			return withBackend(c, func(b node.Backend) error {
				id, err := b.ID(c.Context)
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return printJSON(c.App.Writer, id)
				}
				printID(c.App.Writer, id)
				return nil
			})
		},
	})
}

func printID(w io.Writer, id node.IDInfo) {
	fmt.Fprintf(w, "peer   %s\n", id.Peer)
	if id.Swarm != "" {
		fmt.Fprintf(w, "swarm  %s\n", id.Swarm)
	}
	state := "offline (no node running on this repository)"
	if id.Online {
		state = "online"
	}
	fmt.Fprintf(w, "state  %s\n", state)
	for _, a := range id.Addrs {
		fmt.Fprintf(w, "addr   %s\n", a)
	}
}

// repoFlag is the repository flag every command shares.
func repoFlag() cli.Flag {
	return &cli.StringFlag{
		Name: "repo", Usage: "repository directory", EnvVars: []string{"COLDNODE_PATH"},
		Value: node.DefaultRepoPath(), DefaultText: "~/.coldnode",
	}
}

func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print JSON"}
}

// withBackend runs fn against the node running on the repository (over its
// API) or, when none runs, against the repository itself.
func withBackend(c *cli.Context, fn func(node.Backend) error) error {
	b, closeFn, err := node.Connect(c.Context, c.String("repo"))
	if err != nil {
		return err
	}
	defer closeFn()
	return fn(b)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// positional returns the command's positional arguments, applying flags
// written after them (urfave/cli v2 stops reading flags at the first
// argument, so `coldnode export CID -o FILE` would otherwise lose -o).
func positional(c *cli.Context) ([]string, error) {
	args := c.Args().Slice()
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i+1:]...), nil
		}
		if len(a) < 2 || a[0] != '-' {
			out = append(out, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := lookupFlag(c, name)
		if f == nil {
			return nil, fmt.Errorf("%s: flag provided but not defined: %s", c.Command.Name, a)
		}
		if _, isBool := f.(*cli.BoolFlag); isBool && !hasVal {
			val = "true"
		} else if !hasVal {
			if i+1 == len(args) {
				return nil, fmt.Errorf("%s: flag %s needs a value", c.Command.Name, a)
			}
			i++
			val = args[i]
		}
		if err := c.Set(f.Names()[0], val); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", c.Command.Name, a, err)
		}
	}
	return out, nil
}

func lookupFlag(c *cli.Context, name string) cli.Flag {
	for _, f := range c.Command.Flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}
