// Command simcurve runs the consensus simulator's scaling curve and prints
// it as a markdown table (the one in docs/benchmarks.md):
//
//	go run ./consensus/sim/cmd/simcurve -n 8,64,256,1000
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/coldnode/coldnode/consensus/sim"
)

func main() {
	ns := flag.String("n", "8,64,256,1000", "comma-separated swarm sizes")
	seed := flag.Uint64("seed", 1, "simulation seed")
	only := flag.String("scenario", "", "run only the scenario with this name")
	rounds := flag.Int("rounds", 3, "rounds every peer trains")
	flag.Parse()
	if err := run(*ns, *seed, *only, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "simcurve:", err)
		os.Exit(1)
	}
}

func run(ns string, seed uint64, only string, rounds int) error {
	fmt.Print(sim.CurveHeader)
	for _, s := range strings.Split(ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("swarm size %q: %w", s, err)
		}
		for _, sc := range sim.CurveScenarios {
			if only != "" && sc.Name != only {
				continue
			}
			if err := sim.WriteCurveRow(os.Stdout, n, sc, seed, rounds); err != nil {
				return fmt.Errorf("n=%d %s: %w", n, sc.Name, err)
			}
		}
	}
	return nil
}
