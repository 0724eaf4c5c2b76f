package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// checkGoroutines waits up to five seconds for the goroutine count to fall
// back to what it was before the nodes ran (a few of libp2p's process-wide
// helpers may stay: allow a small margin).
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
	if n := runtime.NumGoroutine(); n > before+5 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the nodes stopped, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestRunSmallSwarm runs the demo with two real nodes for two rounds and
// checks that they agree, that every round was evaluated on both tasks and
// that the chart and the report were written.
func TestRunSmallSwarm(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Nodes, cfg.Rounds, cfg.Epochs = 2, 2, 2
	cfg.Dir, cfg.Chart = dir, filepath.Join(dir, "chart.png")
	var out bytes.Buffer
	cfg.Out = &out
	before := runtime.NumGoroutine()
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkGoroutines(t, before)
	if !res.Agree || len(res.Rounds) != 2 {
		t.Fatalf("agree=%v rounds=%d, want agreement on 2 rounds", res.Agree, len(res.Rounds))
	}
	for _, r := range res.Rounds {
		if len(r.Contributions) != 2 {
			t.Errorf("round %d has %d contributions, want 2 (one per node)", r.Round, len(r.Contributions))
		}
	}
	for _, s := range res.Series {
		if len(s.Accuracy) != 3 {
			t.Errorf("task %s: %d accuracies, want 3 (genesis + 2 rounds)", s.Task, len(s.Accuracy))
		}
		for _, a := range s.Accuracy {
			if a <= 0 || a > 1 {
				t.Errorf("task %s: accuracy %v out of (0, 1]", s.Task, a)
			}
		}
	}
	if fi, err := os.Stat(cfg.Chart); err != nil || fi.Size() < 1000 {
		t.Errorf("chart: %v", err)
	}
	res.Report(&out)
	if !strings.Contains(out.String(), "round 2 closed") || !strings.Contains(out.String(), "all nodes agree") {
		t.Errorf("demo output lacks round events or the agreement line:\n%s", out.String())
	}
}
