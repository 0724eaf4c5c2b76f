// Package demo runs coldnode's README demonstration: a small swarm of
// in-process nodes on loopback, each finetuning a shared mlp body on a
// different task over the same embedded digit images, fusing every round.
//
// It owns the embedded data set (scikit-learn's digits, see NOTICE.md), the
// deterministic task split, the per-round evaluation of the fused base and
// the accuracy chart. The nodes are real: separate repositories, libp2p
// over 127.0.0.1, gossipsub, bitswap and real training; nothing is faked.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/node"
	"github.com/coldnode/coldnode/train/data"
)

// Config describes one demo run.
type Config struct {
	Nodes  int    // 1..4 (one task each)
	Rounds int    // rounds to run
	Epochs int    // local finetuning epochs per round
	Dir    string // parent of the node repositories
	Chart  string // PNG to write ("" for none)
	Out    io.Writer
	Log    *slog.Logger
}

// DefaultConfig is four nodes, five rounds of ten local epochs.
func DefaultConfig() Config {
	return Config{Nodes: 4, Rounds: 5, Epochs: 10, Out: io.Discard}
}

// Result is what the demo measured.
type Result struct {
	Rounds   []node.RoundInfo // node 0's chain
	Agree    bool             // every node has the same records and fused CIDs
	Series   []Series         // per task: probe accuracy of the base, round 0..Rounds
	Elapsed  time.Duration
	Swarm    string
	NodeDirs []string
}

// Run runs the demo and evaluates every round's fused base.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	start := time.Now()
	tasks, err := Tasks(cfg.Nodes)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	for i := range tasks {
		res.NodeDirs = append(res.NodeDirs, filepath.Join(cfg.Dir, fmt.Sprintf("node%d", i)))
	}
	if res.Swarm, err = initSwarm(ctx, res.NodeDirs[0], tasks[0], cfg); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Out, "swarm %s: %d nodes on 127.0.0.1, tasks %v\n", res.Swarm, cfg.Nodes, taskNames(tasks))
	if err := runSwarm(ctx, cfg, res, tasks); err != nil {
		return nil, err
	}
	if err := res.collect(ctx); err != nil {
		return nil, err
	}
	if err := res.evaluate(ctx, cfg, tasks); err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

func taskNames(ts []*data.Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func initSwarm(ctx context.Context, dir string, task *data.Task, cfg Config) (string, error) {
	opt := node.DefaultInitOptions()
	opt.Model, opt.Task, opt.Name = "mlp", task, "coldnode-demo"
	p := wire.DefaultParams()
	p.Quorum, p.Window, p.Deadline, p.Finality = cfg.Nodes, 500*time.Millisecond, 2*time.Minute, 2
	opt.Params = p
	return node.Init(ctx, dir, opt)
}

// runSwarm starts node 0, then the others bootstrapping from it, and waits
// for all of them to reach the last round.
func runSwarm(ctx context.Context, cfg Config, res *Result, tasks []*data.Task) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(tasks))
	var bootstrap []string
	for i, task := range tasks {
		n, repo, err := newNode(cfg, res, i, task, bootstrap)
		if err != nil {
			cancel()
			wg.Wait()
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer repo.Close()
			if errs[i] = n.Run(ctx); errs[i] != nil {
				cancel()
			}
		}()
		if i == 0 {
			if bootstrap, err = waitAddrs(ctx, n); err != nil {
				cancel()
				wg.Wait()
				return errors.Join(err, errs[0])
			}
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

func newNode(cfg Config, res *Result, i int, task *data.Task, bootstrap []string) (*node.Node, *node.Repo, error) {
	repo, err := node.Open(res.NodeDirs[i])
	if err != nil {
		return nil, nil, err
	}
	nc := node.DefaultConfig()
	nc.Swarm, nc.Bootstrap, nc.Listen = res.Swarm, bootstrap, []string{"/ip4/127.0.0.1/tcp/0"}
	nc.NoMDNS, nc.API, nc.Rounds, nc.Epochs, nc.Seed = true, "", cfg.Rounds, cfg.Epochs, int64(i+1)
	nc.AnnounceEvery, nc.RetryEvery, nc.BuildSpread = time.Second, 2*time.Second, 200*time.Millisecond
	nc.TickInterval = 50 * time.Millisecond
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []node.Option{node.WithTask(task), node.WithLogger(log.With("node", i)), node.WithMetrics(node.NoopMetrics())}
	if i == 0 {
		opts = append(opts, node.WithEvents(printEvent(cfg.Out)))
	}
	n, err := node.New(repo, nc, opts...)
	if err != nil {
		repo.Close()
		return nil, nil, err
	}
	return n, repo, nil
}

func printEvent(w io.Writer) func(node.Event) {
	return func(e node.Event) {
		if e.Kind == "head" {
			fmt.Fprintf(w, "round %d closed: head %s, %d contributions, fused base %s\n", e.Round, e.Record, e.Contributions, e.Base)
		}
	}
}

func waitAddrs(ctx context.Context, n *node.Node) ([]string, error) {
	select {
	case <-n.Ready():
	case <-ctx.Done():
		return nil, fmt.Errorf("demo: node 0 did not start: %w", ctx.Err())
	}
	addrs := n.Addrs()
	if len(addrs) == 0 {
		return nil, errors.New("demo: node 0 has no listen address")
	}
	return addrs[:1], nil
}

// collect reads every node's chain and checks they agree.
func (r *Result) collect(ctx context.Context) error {
	r.Agree = true
	for i, dir := range r.NodeDirs {
		rounds, err := readRounds(ctx, dir)
		if err != nil {
			return fmt.Errorf("demo: node %d: %w", i, err)
		}
		if i == 0 {
			r.Rounds = rounds
			continue
		}
		r.Agree = r.Agree && sameChain(r.Rounds, rounds)
	}
	return nil
}

func readRounds(ctx context.Context, dir string) ([]node.RoundInfo, error) {
	o, err := node.OpenOffline(dir)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return o.Rounds(ctx)
}

func sameChain(a, b []node.RoundInfo) bool {
	n := min(len(a), len(b))
	for i := range n {
		if a[i].Record != b[i].Record || a[i].Fused != b[i].Fused {
			return false
		}
	}
	return n > 0
}

// evaluate measures each task's test accuracy of a linear probe on every
// round's base (round 0 = the genesis body).
func (r *Result) evaluate(ctx context.Context, cfg Config, tasks []*data.Task) error {
	bases, err := r.bases(ctx)
	if err != nil {
		return err
	}
	r.Series = make([]Series, len(tasks))
	for i, t := range tasks {
		r.Series[i].Task = t.Name
	}
	o, err := node.OpenOffline(r.NodeDirs[0])
	if err != nil {
		return err
	}
	defer o.Close()
	for round, base := range bases {
		body, err := exportBody(ctx, o, base)
		if err != nil {
			return err
		}
		for i, t := range tasks {
			acc, err := probe(ctx, body, t)
			if err != nil {
				return fmt.Errorf("demo: evaluate round %d on %s: %w", round, t.Name, err)
			}
			r.Series[i].Accuracy = append(r.Series[i].Accuracy, acc)
		}
	}
	if cfg.Chart != "" {
		return WriteChart(cfg.Chart, r.Series)
	}
	return nil
}
