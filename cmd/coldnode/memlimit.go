package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"sync"

	"github.com/coldnode/coldnode/node/memlimit"
	"github.com/urfave/cli/v2"
)

// memLimitFlag is --memlimit of the node: the Go runtime's soft memory
// limit.
func memLimitFlag() cli.Flag {
	return &cli.StringFlag{
		Name:  "memlimit",
		Value: "auto",
		Usage: "the Go runtime's soft memory limit: auto (1.08x the largest live heap the node has needed so far + 32 MiB, " +
			"at most 90% of the machine's or the cgroup's memory), off, or a size such as 1360MiB; " +
			"the GOMEMLIMIT environment variable overrides this flag",
		Action: func(_ *cli.Context, s string) error {
			if s == "auto" || s == "off" {
				return nil
			}
			_, err := memlimit.ParseSize(s)
			return err
		},
	}
}

// startMemLimit applies --memlimit: a fixed limit, none, or a governor
// that follows the live heap until the returned function stops it. budget
// is the node's Config.MemoryBudget: the fixed limit (the flag's or
// GOMEMLIMIT's), else 90% of the machine's or the cgroup's memory.
func startMemLimit(ctx context.Context, value string, log *slog.Logger) (stop func(), budget int64, err error) {
	cfg := memlimit.DefaultConfig()
	budget = cfg.Ceiling
	if env, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		log.Debug("memory limit from GOMEMLIMIT", "limit", env)
		if l := debug.SetMemoryLimit(-1); l < math.MaxInt64 {
			budget = l
		}
		return func() {}, budget, nil
	}
	switch value {
	case "off":
		return func() {}, budget, nil
	case "auto":
		return runGovernor(ctx, cfg, log), budget, nil
	}
	n, err := memlimit.ParseSize(value)
	if err != nil {
		return nil, 0, fmt.Errorf("--memlimit: %w", err)
	}
	before := debug.SetMemoryLimit(n)
	return func() { debug.SetMemoryLimit(before) }, n, nil
}

func runGovernor(ctx context.Context, cfg memlimit.Config, log *slog.Logger) func() {
	var logged int64 // only the governor's goroutine calls the func below
	g := memlimit.New(cfg, func(limit int64, live uint64) {
		if limit >= logged+logged/8 { // a line per rise of 1/8 or more
			logged = limit
			log.Debug("memory limit raised", "limit_mib", limit>>20, "live_heap_mib", live>>20)
		}
	})
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		g.Run(ctx)
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}
