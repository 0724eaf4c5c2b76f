package main

import (
	"context"
	"io"
	"log/slog"
	"runtime/debug"
	"testing"

	"github.com/coldnode/coldnode/node/memlimit"
)

func TestStartMemLimit(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	before := debug.SetMemoryLimit(-1)
	stop, budget, err := startMemLimit(context.Background(), "1360MiB", log)
	if err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != 1360<<20 || budget != 1360<<20 {
		t.Fatalf("--memlimit 1360MiB set %d, budget %d", got, budget)
	}
	stop()
	for _, v := range []string{"off", "auto"} {
		stop, budget, err := startMemLimit(context.Background(), v, log)
		if err != nil {
			t.Fatalf("--memlimit %s: %v", v, err)
		}
		if budget != memlimit.DefaultCeiling() {
			t.Fatalf("--memlimit %s: budget %d, want the machine's ceiling %d", v, budget, memlimit.DefaultCeiling())
		}
		stop() // auto: waits for the governor, which restores the limit
		if got := debug.SetMemoryLimit(-1); got != before {
			t.Fatalf("after --memlimit %s the limit is %d, want %d", v, got, before)
		}
	}
	if _, _, err := startMemLimit(context.Background(), "lots", log); err == nil {
		t.Fatal("--memlimit lots was taken")
	}
	t.Setenv("GOMEMLIMIT", "5GiB")
	stop, budget, err = startMemLimit(context.Background(), "100MiB", log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if got := debug.SetMemoryLimit(-1); got != before || budget == 100<<20 {
		t.Fatalf("GOMEMLIMIT in the environment did not win over the flag: limit %d, budget %d", got, budget)
	}
}
