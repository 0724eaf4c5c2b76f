package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coldnode/coldnode/node/swarmbench"
)

// TestBenchRound runs the round benchmark on three real node processes for
// one round of a small model: every node must end on the same head, and the
// report must hold that round's timing and every process's usage.
func TestBenchRound(t *testing.T) {
	bin, err := exec.LookPath("coldnode")
	if err != nil {
		t.Fatal(err)
	}
	datasets, _ := filepath.Abs("../../../shared/datasets")
	cfg := swarmbench.DefaultConfig()
	cfg.Bin, cfg.Dir, cfg.Nodes, cfg.Rounds = bin, t.TempDir(), 3, 1
	cfg.Model, cfg.Limits, cfg.Verbose = swarmbench.SmallBag, []int{100}, true
	cfg.Datasets = []string{filepath.Join(datasets, "sst2"), filepath.Join(datasets, "subj")}
	cfg.Timeout = 5 * time.Minute
	rep, err := swarmbench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.Write(&out)
	t.Log("\n" + out.String())
	if !rep.Agreed {
		t.Fatal("the nodes ended on different heads")
	}
	if len(rep.Rounds) != 1 || rep.Rounds[0].Contributions != 3 {
		t.Fatalf("rounds %+v, want one round of 3 contributions", rep.Rounds)
	}
	r := rep.Rounds[0]
	if r.LastProposed.IsZero() || r.LastHead.Before(r.LastProposed) || r.FirstHead.After(r.LastHead) || r.Fuse <= 0 {
		t.Errorf("round times out of order or missing: %+v", r)
	}
	if runtime.GOOS == "linux" && !r.Window {
		t.Errorf("the nodes' CPU in the round's window was not read: %+v", r)
	}
	if rep.BodyBytes <= 0 || len(rep.Procs) != 3 {
		t.Fatalf("body %d bytes, %d processes", rep.BodyBytes, len(rep.Procs))
	}
	for _, p := range rep.Procs {
		if p.PeakRSS <= 0 || p.CPU <= 0 || p.Heads < 1 || p.FetchBytes <= 0 {
			t.Errorf("node %s: %+v", p.Name, p)
		}
	}
}

// TestBenchRoundCommand runs `coldnode bench round` itself with its
// baseline: one node alone, then two.
func TestBenchRoundCommand(t *testing.T) {
	datasets, _ := filepath.Abs("../../../shared/datasets")
	out := mustCLI(t, "bench", "round", "--nodes", "2", "--rounds", "1", "--model", "small", "--limit", "100",
		"--dataset", filepath.Join(datasets, "sst2"), "--dir", t.TempDir(), "--timeout", "5m")
	if strings.Count(out, "all nodes agree: true") != 2 {
		t.Fatalf("want two runs (baseline and 2 nodes) that agree:\n%s", out)
	}
	_, cmp, ok := strings.Cut(out, "nodes  train_s")
	if lines := strings.Split(strings.TrimSpace(cmp), "\n"); !ok || len(lines) != 3 ||
		!strings.HasPrefix(lines[1], "    1  ") || !strings.HasPrefix(lines[2], "    2  ") {
		t.Errorf("comparison lacks the 1- and 2-node lines:\n%s", out)
	}
}
