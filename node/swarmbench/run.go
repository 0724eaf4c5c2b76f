package swarmbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coldnode/coldnode/node"
)

// bench is one Run: the children and what is needed to start them.
type bench struct {
	cfg    Config
	swarm  string
	procs  []*proc
	addrs  []string // loopback TCP multiaddr of each started node
	exited chan exit
	log    io.Writer
	cpu    []cpuSample // the children's CPU time while they ran
}

// Run starts the swarm, waits until every node has run cfg.Rounds rounds
// and exited, and reports. Every child has exited (or been killed) when Run
// returns.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	b := &bench{cfg: cfg, exited: make(chan exit, cfg.Nodes), log: cfg.Progress}
	if b.log == nil {
		b.log = io.Discard
	}
	defer b.killAll()
	start := time.Now()
	if err := b.initSwarm(ctx); err != nil {
		return nil, err
	}
	if err := b.startAll(ctx); err != nil {
		return nil, err
	}
	smp := startCPUSampler(b.pids())
	err := b.waitAll(ctx)
	b.cpu = smp.finish()
	if err != nil {
		return nil, err
	}
	return b.report(ctx, time.Since(start))
}

func (b *bench) pids() []int {
	var out []int
	for _, p := range b.procs {
		out = append(out, p.cmd.Process.Pid)
	}
	return out
}

func (b *bench) repo(i int) string { return filepath.Join(b.cfg.Dir, fmt.Sprintf("n%02d", i)) }

// initSwarm writes the model config and creates the swarm in node 0's
// repository: quorum = Nodes, so a round closes when every node has
// contributed (after Window).
func (b *bench) initSwarm(ctx context.Context) error {
	model := filepath.Join(b.cfg.Dir, "model.json")
	if err := os.WriteFile(model, []byte(b.cfg.Model), 0o644); err != nil {
		return fmt.Errorf("swarmbench: write model config: %w", err)
	}
	out, err := cli(ctx, b.cfg.Bin, "init", "--repo", b.repo(0), "--model", model, "--name", "bench",
		"--quorum", strconv.Itoa(b.cfg.Nodes), "--window", b.cfg.Window.String(),
		"--deadline", b.cfg.Deadline.String(), "--finality", "2")
	if err != nil {
		return err
	}
	b.swarm = strings.TrimSpace(string(out))
	fmt.Fprintf(b.log, "swarm %s: %d nodes, %d rounds\n", b.swarm, b.cfg.Nodes, b.cfg.Rounds)
	return nil
}

// startAll starts the nodes one after the other; node i bootstraps from
// nodes 0, i-1 and i/2, so the swarm is connected without a hub.
func (b *bench) startAll(ctx context.Context) error {
	for i := range b.cfg.Nodes {
		args := b.nodeArgs(i)
		if i > 0 {
			args = append(args, "--swarm", b.swarm)
			for _, j := range uniq(0, i-1, i/2) {
				args = append(args, "--bootstrap", b.addrs[j])
			}
		}
		p := &proc{name: fmt.Sprintf("n%02d", i), repo: b.repo(i), logPath: b.repo(i) + ".log"}
		if err := p.start(b.cfg.Bin, args, b.exited); err != nil {
			return err
		}
		b.procs = append(b.procs, p)
		if i == b.cfg.Nodes-1 {
			break // nobody bootstraps from the last node (alone, it may be done already)
		}
		addr, err := b.address(ctx, p)
		if err != nil {
			return err
		}
		b.addrs = append(b.addrs, addr)
	}
	fmt.Fprintf(b.log, "started %d nodes\n", b.cfg.Nodes)
	return nil
}

func (b *bench) nodeArgs(i int) []string {
	c := b.cfg
	args := []string{"--dataset", c.Datasets[i%len(c.Datasets)],
		"--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0", "--no-mdns",
		"--seed", strconv.Itoa(i + 1), "--gc-every", "0"}
	add := func(on bool, flag ...string) {
		if on {
			args = append(args, flag...)
		}
	}
	if len(c.Limits) > 0 {
		l := c.Limits[i%len(c.Limits)]
		add(l > 0, "--limit", strconv.Itoa(l))
	}
	add(c.Epochs > 0, "--epochs", strconv.Itoa(c.Epochs))
	add(c.Verbose, "--verbose")
	add(c.Profile, "--cpuprofile", b.repo(i)+".cpu.prof")
	add(c.MemProfile, "--memprofile", b.repo(i)+".heap.prof")
	add(c.Moments != "", "--moments", c.Moments)
	add(c.CheckAfterTraining, "--check-after-training")
	add(c.DeltaEncoding != "", "--delta-encoding", c.DeltaEncoding)
	add(c.MemLimit != "", "--memlimit", c.MemLimit)
	return args
}

// address waits for p's API and returns its loopback TCP multiaddr.
func (b *bench) address(ctx context.Context, p *proc) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := waitFile(wctx, filepath.Join(p.repo, "api"), p.done); err != nil {
		return "", fmt.Errorf("node %s did not start: %w\n%s", p.name, err, p.tail())
	}
	out, err := cli(ctx, b.cfg.Bin, "id", "--repo", p.repo, "--json")
	if err != nil {
		return "", err
	}
	var id node.IDInfo
	if err := json.Unmarshal(out, &id); err != nil {
		return "", fmt.Errorf("id of node %s: %w", p.name, err)
	}
	for _, a := range id.Addrs {
		if strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") {
			return a, nil
		}
	}
	return "", fmt.Errorf("node %s has no loopback TCP address in %v", p.name, id.Addrs)
}

// waitAll waits until every node has adopted a head of round Rounds, then
// stops them all with SIGTERM and waits for them. Nodes are not started
// with --rounds: one that stopped as soon as it had the last round could
// leave a slower peer unable to fetch the deltas it needs to verify it.
func (b *bench) waitAll(ctx context.Context) error {
	w := newWatch(b.procs, b.cfg.Rounds)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for !w.all() {
		select {
		case e := <-b.exited:
			return fmt.Errorf("node %s exited before round %d: %v\n%s", e.p.name, b.cfg.Rounds, e.p.err, e.p.tail())
		case <-ctx.Done():
			return fmt.Errorf("swarmbench: round %d not reached by every node after %v: %w", b.cfg.Rounds, b.cfg.Timeout, ctx.Err())
		case <-tick.C:
			w.scan()
		}
	}
	fmt.Fprintf(b.log, "every node holds round %d; stopping them\n", b.cfg.Rounds)
	for _, p := range b.procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for range b.procs {
		select {
		case e := <-b.exited:
			if e.p.err != nil {
				return fmt.Errorf("node %s after SIGTERM: %w\n%s", e.p.name, e.p.err, e.p.tail())
			}
		case <-ctx.Done():
			return fmt.Errorf("swarmbench: nodes still running after SIGTERM: %w", ctx.Err())
		}
	}
	return nil
}

// killAll kills and waits for every child still running.
func (b *bench) killAll() {
	for _, p := range b.procs {
		p.kill()
	}
}

// uniq returns the distinct values of xs in order.
func uniq(xs ...int) []int {
	var out []int
	for _, x := range xs {
		dup := false
		for _, y := range out {
			dup = dup || x == y
		}
		if !dup {
			out = append(out, x)
		}
	}
	return out
}
