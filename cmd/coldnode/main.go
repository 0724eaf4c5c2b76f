// Command coldnode runs a ColD Fusion node and its tools.
//
// This package only parses flags and prints; every command's work lives in
// the train, p2p, consensus and node packages. Each command is defined in its
// own file and registered from that file's init function.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/urfave/cli/v2"
)

var commands []*cli.Command

// register adds a command to the program; called from init functions.
func register(c *cli.Command) { commands = append(commands, c) }

func newApp() *cli.App {
	sort.Slice(commands, func(i, j int) bool { return commands[i].Name < commands[j].Name })
	return &cli.App{
		Name:     "coldnode",
		Usage:    "collaborative model fusion over a peer-to-peer swarm (ColD Fusion without a server)",
		Commands: commands,
		ExitErrHandler: func(*cli.Context, error) {
			// main prints errors; the default handler would exit early.
		},
	}
}

func main() {
	os.Exit(run(os.Args))
}

func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newApp().RunContext(ctx, args); err != nil {
		fmt.Fprintf(os.Stderr, "coldnode: %v\n", err)
		return 1
	}
	return 0
}
