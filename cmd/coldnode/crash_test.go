package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coldnode/coldnode/node"
)

// Environment of TestCrashRecovery: how many times it kills its victim
// (default 50) and the seed of its choices (default: the clock; the test
// logs it, so a failing run can be replayed).
const (
	crashKillsEnv = "COLDNODE_CRASH_KILLS"
	crashSeedEnv  = "COLDNODE_CRASH_SEED"
	crashKeepEnv  = "COLDNODE_CRASH_KEEP" // a directory: a failing run copies the node logs there
)

// crashPhases are the fault points of node.FaultEnv.
var crashPhases = []string{"train", "import", "fetch", "fuse", "persist"}

// crashRun is the state of TestCrashRecovery.
type crashRun struct {
	t      *testing.T
	rng    *rand.Rand
	victim *proc
	others []*proc
	acked  map[string]bool // contributions the victim announced ("proposed")
	own    map[string]bool // deltas the victim logged as its own
	hits   map[string]int  // what each kill hit
	faults int             // fault-point plans drawn
	torn   int             // journal tails found torn after a kill
	blocks int             // blocks re-hashed, over all checks
}

// TestCrashRecovery runs three node processes on 127.0.0.1 with a quorum of
// two and kills one of them, the victim, with SIGKILL again and again: at a
// fault point chosen at random among training, importing its delta,
// fetching, fusing and persisting (node.FaultEnv, with a random delay that
// lands the kill inside the phase), or at a random moment. After every kill
// `coldnode repo verify` must find every block whole and the journals sound,
// and every contribution the victim had announced and every delta it had
// logged, in this life or an earlier one, must still be stored (the
// contributions also in the block journal a restart replays). At the end
// the victim runs undisturbed and must reach the swarm's head, with the same
// records as the others, and have a contribution counted.
func TestCrashRecovery(t *testing.T) {
	kills, seed := crashSettings(t)
	t.Logf("%d kills, seed %d (%s=%d replays the choices)", kills, seed, crashSeedEnv, seed)
	c := &crashRun{t: t, rng: rand.New(rand.NewPCG(uint64(seed), 0)), acked: map[string]bool{},
		own: map[string]bool{}, hits: map[string]int{}}
	c.startSwarm()
	start := time.Now()
	for i := range kills {
		c.life(i)
	}
	t.Logf("%d kills in %v", kills, time.Since(start).Round(time.Second))
	c.report()
	c.converge()
}

func crashSettings(t *testing.T) (kills int, seed int64) {
	kills, seed = 50, time.Now().UnixNano()%1_000_000
	var err error
	if v := os.Getenv(crashKillsEnv); v != "" {
		if kills, err = strconv.Atoi(v); err != nil || kills < 1 {
			t.Fatalf("%s=%q: want a positive count", crashKillsEnv, v)
		}
	}
	if v := os.Getenv(crashSeedEnv); v != "" {
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("%s=%q: want an integer", crashSeedEnv, v)
		}
	}
	return kills, seed
}

// startSwarm creates the swarm and starts the two steady nodes; the victim
// is started by each life.
func (c *crashRun) startSwarm() {
	t := c.t
	datasets, _ := filepath.Abs("../../../shared/datasets")
	dir := t.TempDir()
	keepLogs(t, dir)
	cfgPath := filepath.Join(dir, "bag.json")
	os.WriteFile(cfgPath, []byte(smallBag), 0o644)
	repo := func(n string) string { return filepath.Join(dir, n) }
	swarm := strings.TrimSpace(mustCLI(t, "init", "--repo", repo("a"), "--model", cfgPath, "--quorum", "2",
		"--window", "1s", "--deadline", "30s", "--finality", "6", "--name", "crash"))
	common := []string{"--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0", "--no-mdns", "--limit", "200", "--epochs", "1"}
	args := func(task string, extra ...string) []string {
		return append(append([]string{"--dataset", filepath.Join(datasets, task)}, common...), extra...)
	}
	a := &proc{name: "a", repo: repo("a"), args: args("sst2")}
	a.start(t)
	waitFor(t, "node a's API", 30*time.Second, func() bool { _, err := node.Dial(a.repo); return err == nil }, a)
	join := []string{"--swarm", swarm, "--bootstrap", apiAddr(t, a.repo)}
	b := &proc{name: "b", repo: repo("b"), args: args("subj", join...)}
	b.start(t)
	c.others = []*proc{a, b}
	waitListening(t, b)
	// The victim bootstraps from both (each life listens on a new port, so
	// only its own dials connect it to both), and collects garbage every two
	// rounds, so kills also land in and around collections.
	vargs := append(join, "--bootstrap", apiAddr(t, b.repo), "--gc-every", "2")
	c.victim = &proc{name: "victim", repo: repo("victim"), args: args("trec", vargs...)}
	waitFor(t, "round 1 on node a", 90*time.Second, func() bool { return len(rounds(t, a.repo)) >= 1 }, a, b)
}

// crashPlan is how one life of the victim ends.
type crashPlan struct {
	fault string        // node.FaultEnv value; "" kills from outside
	after time.Duration // when to kill from outside (for a fault: if it was not reached)
}

// plan draws how life i ends: four in five at a fault point, the phase
// cycling through crashPhases so each is aimed at equally often.
func (c *crashRun) plan() crashPlan {
	if c.rng.IntN(5) == 0 {
		return crashPlan{after: time.Duration(300+c.rng.IntN(6000)) * time.Millisecond}
	}
	phase := crashPhases[c.faults%len(crashPhases)]
	c.faults++
	nth := 1
	if phase == "fetch" || phase == "persist" {
		nth += c.rng.IntN(3) // several times a round
	}
	delay := time.Duration(0)
	if c.rng.IntN(2) == 0 {
		delay = time.Duration(c.rng.IntN(400)) * time.Millisecond
	}
	return crashPlan{fault: fmt.Sprintf("%s:%d:%v", phase, nth, delay), after: 45 * time.Second}
}

// life starts the victim, kills it as planned and checks its repository.
func (c *crashRun) life(i int) {
	t, v := c.t, c.victim
	p := c.plan()
	off := logSize(v)
	v.env = nil
	if p.fault != "" {
		v.env = []string{node.FaultEnv + "=" + p.fault}
	}
	v.start(t)
	hit := c.kill(v, p, off)
	v.log.Close() // each start opens the log again
	c.hits[hit]++
	t.Logf("kill %d: planned %q, hit %s", i+1, p.fault, hit)
	c.collect(logSince(v, off))
	c.check(i)
}

var faultLine = regexp.MustCompile(`fault point (\w+)#\d+: SIGKILL`)

// kill waits for the fault point to kill the victim, or kills it from
// outside; it fails the test unless the victim died of SIGKILL. It returns
// what the kill hit.
func (c *crashRun) kill(v *proc, p crashPlan, off int64) string {
	select {
	case err := <-v.done:
		v.done <- err
		m := faultLine.FindStringSubmatch(logSince(v, off))
		if p.fault == "" || m == nil {
			c.t.Fatalf("victim exited on its own (planned %q): %v\n%s", p.fault, err, v.tail())
		}
		mustBeKilled(c.t, v, err)
		return m[1]
	case <-time.After(p.after):
	}
	mustBeKilled(c.t, v, v.stop(syscall.SIGKILL))
	if p.fault != "" {
		return "random (" + strings.SplitN(p.fault, ":", 2)[0] + " not reached)"
	}
	return "random (last log: " + lastMsg(logSince(v, off)) + ")"
}

func mustBeKilled(t *testing.T, v *proc, err error) {
	t.Helper()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("victim: want death by SIGKILL, got %v\n%s", err, v.tail())
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("victim: want death by SIGKILL, got %v\n%s", err, v.tail())
	}
}

var (
	proposedLine = regexp.MustCompile(`msg=proposed round=\d+ cid=(\S+)`)
	msgField     = regexp.MustCompile(`msg=("[^"]*"|\S+)`)
)

// lastMsg is the last log message of a life.
func lastMsg(log string) string {
	ms := msgField.FindAllStringSubmatch(log, -1)
	if len(ms) == 0 {
		return "none"
	}
	return strings.Trim(ms[len(ms)-1][1], `"`)
}

// collect adds what the victim acknowledged in one life: the contributions
// it announced (logged after they were persisted) and the deltas in its
// own-contribution log.
func (c *crashRun) collect(log string) {
	for _, m := range proposedLine.FindAllStringSubmatch(log, -1) {
		c.acked[m[1]] = true
	}
	ents, _ := os.ReadDir(filepath.Join(c.victim.repo, "contributions"))
	for _, e := range ents {
		var own node.OwnContribution
		if b, err := os.ReadFile(filepath.Join(c.victim.repo, "contributions", e.Name())); err == nil &&
			strings.HasSuffix(e.Name(), ".json") && json.Unmarshal(b, &own) == nil {
			c.own[own.Delta] = true
		}
	}
}

// check verifies the dead victim's repository and that nothing it
// acknowledged, in any life so far, is gone.
func (c *crashRun) check(i int) {
	t := c.t
	out, err := runCLI(t, "repo", "verify", "--repo", c.victim.repo, "--json")
	if err != nil {
		t.Fatalf("after kill %d: %v\n%s", i+1, err, out)
	}
	var rep node.VerifyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("repo verify --json: %v\n%s", err, out)
	}
	c.torn += rep.Torn
	c.blocks += rep.Blocks
	o, err := node.OpenOffline(c.victim.repo)
	if err != nil {
		t.Fatalf("after kill %d the repository does not open: %v", i+1, err)
	}
	defer o.Close()
	ctx := context.Background()
	journal, _ := os.ReadFile(filepath.Join(c.victim.repo, "blocks.journal"))
	for ct := range c.acked {
		if obj, err := o.Show(ctx, ct); err != nil || obj.Kind != "contribution" {
			t.Errorf("after kill %d: announced contribution %s: %v (kind %q)", i+1, ct, err, obj.Kind)
		}
		if !strings.Contains(string(journal), ct+"\n") { // a restart replays the journal
			t.Errorf("after kill %d: announced contribution %s is not in the block journal", i+1, ct)
		}
	}
	for d := range c.own {
		if err := o.Export(ctx, d, node.HeadNone, io.Discard); err != nil {
			t.Errorf("after kill %d: own delta %s: %v", i+1, d, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// report logs what the kills hit and fails unless every phase was hit.
func (c *crashRun) report() {
	var keys []string
	for k := range c.hits {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c.t.Logf("kills that hit %-40s %d", k, c.hits[k])
	}
	c.t.Logf("%d announced contributions and %d own deltas kept across kills; %d blocks re-hashed; %d torn journal tails",
		len(c.acked), len(c.own), c.blocks, c.torn)
	for _, ph := range crashPhases {
		if c.hits[ph] == 0 && len(c.hits) > 0 && sumHits(c.hits) >= 2*len(crashPhases) {
			c.t.Errorf("no kill hit phase %s", ph)
		}
	}
}

func sumHits(h map[string]int) (n int) {
	for _, v := range h {
		n += v
	}
	return n
}

// converge restarts the victim undisturbed: it must reach the head of the
// others, agree with them on every round, and get a contribution counted.
func (c *crashRun) converge() {
	t, v := c.t, c.victim
	v.env = nil
	v.start(t)
	all := append([]*proc{v}, c.others...)
	stacksOnFailure(t, all)
	waitListening(t, v)
	var id node.IDInfo
	if err := json.Unmarshal([]byte(mustCLI(t, "id", "--repo", v.repo, "--json")), &id); err != nil {
		t.Fatal(err)
	}
	target := len(rounds(t, c.others[0].repo)) + 2
	waitFor(t, "a round counting the victim's contribution", 3*time.Minute, func() bool {
		rs := rounds(t, c.others[0].repo)
		return len(rs) >= target && counted(rs[target-2:], id.Peer)
	}, all...)
	waitFor(t, "the same head on every node", 2*time.Minute, func() bool { return sameHead(t, all) }, all...)
	want := rounds(t, c.others[0].repo)
	for _, p := range all {
		got := rounds(t, p.repo)
		for r := range min(len(got), len(want)) {
			if got[r].Record != want[r].Record || got[r].Fused != want[r].Fused {
				t.Errorf("node %s round %d: record %s fused %s; node a: %s %s", p.name, r+1,
					got[r].Record, got[r].Fused, want[r].Record, want[r].Fused)
			}
		}
	}
	inChain := 0
	for _, r := range want {
		for _, ct := range r.Contributions {
			if c.acked[ct.CID] {
				inChain++
			}
		}
	}
	t.Logf("converged at round %d; %d of the victim's announced contributions from killed lives are in the chain",
		len(want), inChain)
}

// counted reports whether peer has a contribution in one of rs.
func counted(rs []node.RoundInfo, peer string) bool {
	for _, r := range rs {
		for _, ct := range r.Contributions {
			if ct.Peer == peer {
				return true
			}
		}
	}
	return false
}

// sameHead reports whether every node's chain ends on the same record.
func sameHead(t *testing.T, ps []*proc) bool {
	head := ""
	for i, p := range ps {
		rs := rounds(t, p.repo)
		if len(rs) == 0 {
			return false
		}
		if h := rs[len(rs)-1].Record; i == 0 {
			head = h
		} else if h != head {
			return false
		}
	}
	return true
}

func logSize(p *proc) int64 {
	st, err := os.Stat(p.repo + ".log")
	if err != nil {
		return 0
	}
	return st.Size()
}

// logSince is the process's log from byte off on.
func logSince(p *proc, off int64) string {
	b, _ := os.ReadFile(p.repo + ".log")
	if off > int64(len(b)) {
		return ""
	}
	return string(b[off:])
}

// keepLogs copies dir's node logs to $COLDNODE_CRASH_KEEP when the test
// fails (registered before the processes, so it runs after they stopped).
func keepLogs(t *testing.T, dir string) {
	keep := os.Getenv(crashKeepEnv)
	if keep == "" {
		return
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		for _, l := range logs {
			if b, err := os.ReadFile(l); err == nil {
				os.MkdirAll(keep, 0o755)
				os.WriteFile(filepath.Join(keep, filepath.Base(l)), b, 0o644)
			}
		}
		t.Logf("node logs copied to %s", keep)
	})
}

// stacksOnFailure makes a failing test end the processes with SIGQUIT
// first, so their logs end with every goroutine's stack (registered after
// the processes, so it runs before their cleanups kill them).
func stacksOnFailure(t *testing.T, ps []*proc) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, p := range ps {
			p.stop(syscall.SIGQUIT)
		}
	})
}

// waitListening waits until p's API answers with its listen addresses (a
// stale api file of a killed process, or the repository read offline
// before p locks it, gives none).
func waitListening(t *testing.T, p *proc) {
	t.Helper()
	waitFor(t, "node "+p.name+"'s API", time.Minute, func() bool {
		out, err := runCLI(t, "id", "--repo", p.repo, "--json")
		var id node.IDInfo
		return err == nil && json.Unmarshal([]byte(out), &id) == nil && len(id.Addrs) > 0
	}, p)
}
