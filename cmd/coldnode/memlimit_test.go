package main

import (
	"context"
	"io"
	"log/slog"
	"runtime/debug"
	"testing"
)

func TestStartMemLimit(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	before := debug.SetMemoryLimit(-1)
	stop, err := startMemLimit(context.Background(), "1360MiB", log)
	if err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != 1360<<20 {
		t.Fatalf("--memlimit 1360MiB set %d", got)
	}
	stop()
	for _, v := range []string{"off", "auto"} {
		stop, err := startMemLimit(context.Background(), v, log)
		if err != nil {
			t.Fatalf("--memlimit %s: %v", v, err)
		}
		stop() // auto: waits for the governor, which restores the limit
		if got := debug.SetMemoryLimit(-1); got != before {
			t.Fatalf("after --memlimit %s the limit is %d, want %d", v, got, before)
		}
	}
	if _, err := startMemLimit(context.Background(), "lots", log); err == nil {
		t.Fatal("--memlimit lots was taken")
	}
	t.Setenv("GOMEMLIMIT", "5GiB")
	stop, err = startMemLimit(context.Background(), "100MiB", log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Fatalf("GOMEMLIMIT in the environment did not win over the flag: limit %d", got)
	}
}
