package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coldnode/coldnode/node"
)

// proc is one coldnode process of the end-to-end test.
type proc struct {
	name, repo string
	args       []string
	env        []string // extra environment (NAME=value) of the next start
	cmd        *exec.Cmd
	log        *os.File
	done       chan error
}

// runCLI runs one short coldnode command and returns its stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("coldnode", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("coldnode %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runCLI(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	var err error
	if p.log, err = os.OpenFile(p.repo+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command("coldnode", append([]string{"start", "--repo", p.repo}, p.args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if p.env != nil {
		p.cmd.Env = append(os.Environ(), p.env...)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.stop(syscall.SIGKILL) })
}

// stop signals the process and waits for it; it returns the exit error.
func (p *proc) stop(sig syscall.Signal) error {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	select {
	case err := <-p.done:
		p.done <- err
		return err
	default:
	}
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		return fmt.Errorf("%s did not stop within 30s of %v", p.name, sig)
	}
}

func (p *proc) tail() string {
	b, _ := os.ReadFile(p.repo + ".log")
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// rounds reads a node's chain through its API (or its repository).
func rounds(t *testing.T, repo string) []node.RoundInfo {
	t.Helper()
	out, err := runCLI(t, "rounds", "--repo", repo, "--json")
	return parseRounds(t, repo, out, err)
}

// parseRounds decodes the output of `rounds --json`; a failed command (the
// node busy or between states) gives nil.
func parseRounds(t *testing.T, repo, out string, err error) []node.RoundInfo {
	t.Helper()
	if err != nil {
		return nil
	}
	var rs []node.RoundInfo
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("rounds --json of %s: %v", repo, err)
	}
	return rs
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool, ps ...*proc) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			for _, p := range ps {
				t.Logf("--- %s log tail:\n%s", p.name, p.tail())
			}
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func apiAddr(t *testing.T, repo string) string {
	t.Helper()
	var id node.IDInfo
	if err := json.Unmarshal([]byte(mustCLI(t, "id", "--repo", repo, "--json")), &id); err != nil {
		t.Fatal(err)
	}
	for _, a := range id.Addrs {
		if strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") {
			return a
		}
	}
	t.Fatalf("no loopback TCP address in %v", id.Addrs)
	return ""
}

const smallBag = `{"arch":"bag","token":{"buckets":4096,"bigrams":true},"dim":16,"hidden":16,"layers":1,"classes":0}`

// TestSwarmEndToEnd runs real coldnode processes on 127.0.0.1: four nodes
// with different datasets join by bootstrap; one is killed with SIGKILL in
// the middle of round 2 and restarted; a fifth joins late and catches up.
// Every node must report the same records and fused CIDs, and exporting the
// round-3 base must give byte-identical files everywhere.
func TestSwarmEndToEnd(t *testing.T) {
	datasets, _ := filepath.Abs("../../../shared/datasets")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "bag.json")
	os.WriteFile(cfgPath, []byte(smallBag), 0o644)
	repo := func(n string) string { return filepath.Join(dir, n) }
	swarm := strings.TrimSpace(mustCLI(t, "init", "--repo", repo("a"), "--model", cfgPath, "--quorum", "4",
		"--window", "1s", "--deadline", "2m", "--finality", "2", "--name", "e2e"))
	common := []string{"--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0", "--no-mdns", "--limit", "300", "--epochs", "2"}
	nodeArgs := func(task string, extra ...string) []string {
		return append(append([]string{"--dataset", filepath.Join(datasets, task)}, common...), extra...)
	}
	a := &proc{name: "a", repo: repo("a"), args: nodeArgs("sst2")}
	a.start(t)
	waitFor(t, "node a's API", 30*time.Second, func() bool { _, err := node.Dial(a.repo); return err == nil }, a)
	boot := apiAddr(t, a.repo)

	// A second node on the same repository is refused while a runs.
	if out, err := runCLI(t, append([]string{"start", "--repo", a.repo}, nodeArgs("sst2")...)...); err == nil ||
		!strings.Contains(err.Error(), "held by another coldnode process") {
		t.Fatalf("second start on a's repository: %q %v", out, err)
	}

	join := []string{"--swarm", swarm, "--bootstrap", boot}
	ps := []*proc{a}
	for i, task := range []string{"subj", "trec", "cr"} {
		p := &proc{name: string(rune('b' + i)), repo: repo(string(rune('b' + i))), args: nodeArgs(task, join...)}
		p.start(t)
		ps = append(ps, p)
	}
	c := ps[2]
	waitFor(t, "round 1 on node a", 90*time.Second, func() bool { return len(rounds(t, a.repo)) >= 1 }, ps...)
	if err := c.stop(syscall.SIGKILL); err == nil {
		t.Fatal("node c exited cleanly before it was killed")
	}
	t.Logf("killed node c with SIGKILL at round %d of node c", len(rounds(t, c.repo)))
	c.start(t)
	for _, p := range ps {
		waitFor(t, "three rounds on node "+p.name, 120*time.Second, func() bool { return len(rounds(t, p.repo)) >= 3 }, ps...)
	}

	e := &proc{name: "e", repo: repo("e"), args: nodeArgs("mr", append(join, "--rounds", "3")...)}
	e.start(t)
	select {
	case err := <-e.done:
		if err != nil {
			t.Fatalf("late node e: %v\n%s", err, e.tail())
		}
	case <-time.After(120 * time.Second):
		t.Fatalf("late node e did not catch up within 120s\n%s", e.tail())
	}
	ps = append(ps, e)
	checkAgreement(t, ps, 3)
	for _, r := range rounds(t, a.repo)[:3] {
		t.Logf("round %d record %s fused %s contributions %d", r.Round, r.Record, r.Fused, len(r.Contributions))
	}
	if log, _ := os.ReadFile(c.repo + ".log"); !strings.Contains(string(log), "msg=resumed") {
		t.Errorf("restarted node c did not resume from its repository:\n%s", c.tail())
	}
	checkExports(t, dir, ps, rounds(t, a.repo)[2].Fused)
	checkMetrics(t, ps[1])
	if out := mustCLI(t, "peers", "--repo", a.repo); strings.Count(out, "12D3KooW") < 3 {
		t.Errorf("node a lists fewer than 3 peers:\n%s", out)
	}
	for _, p := range ps[:4] {
		if err := p.stop(syscall.SIGTERM); err != nil {
			t.Errorf("node %s after SIGTERM: %v\n%s", p.name, err, p.tail())
		}
	}
	// Stopped nodes release their repositories: the CLI reads them directly.
	if rs := rounds(t, a.repo); len(rs) < 3 {
		t.Errorf("offline rounds of a: %d rounds", len(rs))
	}
}

// checkMetrics reads a running node's /metrics and checks the series that
// must have moved.
func checkMetrics(t *testing.T, p *proc) {
	t.Helper()
	addr, err := os.ReadFile(filepath.Join(p.repo, "api"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + strings.TrimSpace(string(addr)) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, re := range []string{
		`(?m)^coldnode_consensus_head_height [3-9]`, `(?m)^coldnode_consensus_contributions_total\{origin="peer"\} [1-9]`,
		`(?m)^coldnode_consensus_contributions_total\{origin="own"\} [1-9]`, `(?m)^coldnode_p2p_fetch_bytes_total [1-9]`,
		`(?m)^coldnode_train_examples_total [1-9]`, `(?m)^coldnode_p2p_peers [1-9]`, `(?m)^coldnode_fusion_runs_total [1-9]`,
	} {
		if !regexp.MustCompile(re).Match(body) {
			t.Errorf("node %s /metrics lacks %s", p.name, re)
		}
	}
}

func checkAgreement(t *testing.T, ps []*proc, n int) {
	t.Helper()
	want := rounds(t, ps[0].repo)
	for _, p := range ps {
		got := rounds(t, p.repo)
		if len(got) < n {
			t.Fatalf("node %s has %d rounds, want >= %d", p.name, len(got), n)
		}
		for r := range n {
			if got[r].Record != want[r].Record || got[r].Fused != want[r].Fused {
				t.Errorf("node %s round %d: record %s fused %s; node a: %s %s",
					p.name, r+1, got[r].Record, got[r].Fused, want[r].Record, want[r].Fused)
			}
		}
	}
	for r := range n {
		if k := len(want[r].Contributions); k < 4 {
			t.Errorf("round %d has %d contributions, want at least 4 (the quorum)", r+1, k)
		}
	}
}

func checkExports(t *testing.T, dir string, ps []*proc, fused string) {
	t.Helper()
	var first []byte
	for _, p := range ps {
		out := filepath.Join(dir, p.name+".safetensors")
		mustCLI(t, "export", "--repo", p.repo, fused, "-o", out, "--body-only")
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Errorf("node %s exported different bytes for %s", p.name, fused)
		}
	}
	if got := strings.TrimSpace(mustCLI(t, "cid", filepath.Join(dir, "a.safetensors"))); got != fused {
		t.Errorf("exported file hashes to %s, want %s", got, fused)
	}
}
