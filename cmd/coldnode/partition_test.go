package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coldnode/coldnode/node"
	"github.com/ipfs/go-cid"
)

// TestPartitionHeal runs six coldnode processes, each in its own network
// namespace with its own address, on two bridges joined by one link (see
// netlab). Once the swarm shares two rounds the link goes down: nodes a, b,
// c (side A) and d, e, f (side B) can no longer reach each other, and
// nothing in coldnode is told. Each side must keep closing rounds on its
// own (quorum 3) until every node is four rounds past the cut. Then the
// link comes back, and every node's head must end on one chain, with a
// round after the heal holding contributions from both sides.
//
// What that chain holds is the fork choice of docs/protocol.md §6.2,
// checked exactly. The rounds before the split are kept. The two sides'
// first split round is on the same base, but a union record of it (at most
// 3+3 contributions) is built only if strictly heavier than the head, and
// each side's own chain already weighs at least 3+3 more: so the heavier
// chain wins as a whole (ties to the lower record CID), the other side's
// split records and contributions become stale, and both sides contribute
// to the rounds after the heal. Every head change each node logged must go
// to a heavier record, or to an equally heavy one with a lower CID.
func TestPartitionHeal(t *testing.T) {
	needNetns(t)
	const n, splitRounds = 6, 4
	sideA := func(i int) bool { return i < n/2 }
	lab := newNetlab(t, n, sideA)
	ps, peers := startPartitionSwarm(t, lab, t.TempDir())
	t.Logf("peers: side A %v, side B %v", peers[:n/2], peers[n/2:])

	waitOneHead(t, lab, ps, 2, 4*time.Minute)
	lab.cut(t)
	cutAt := time.Now()
	atCut := 0
	for _, c := range chains(t, lab, ps) {
		atCut = max(atCut, len(c))
	}
	t.Logf("cut the link at round %d", atCut)
	split := waitSplit(t, lab, ps, atCut+splitRounds, sideA)
	lab.heal(t)
	healAt := time.Now()
	t.Logf("healed the link: side A at round %d, side B at round %d", len(split[0]), len(split[1]))
	final := waitHealed(t, lab, ps, max(len(split[0]), len(split[1]))+1, peers, sideA)

	stopAll(t, ps)
	checkStoppedHeads(t, ps, final)
	f := checkSplitOutcome(t, split, final, peers, sideA)
	for _, p := range ps {
		checkHeadsMonotone(t, p)
	}
	logTimings(t, ps, cutAt, healAt, final, f)
}

// startPartitionSwarm starts node i in namespace lab.ns[i]; every node
// bootstraps from all nodes started before it, so each side stays
// connected inside itself when the link is cut. It returns the nodes and
// their peer IDs.
func startPartitionSwarm(t *testing.T, lab *netlab, dir string) ([]*proc, []string) {
	t.Helper()
	datasets, _ := filepath.Abs("../../../shared/datasets")
	cfgPath := filepath.Join(dir, "bag.json")
	if err := os.WriteFile(cfgPath, []byte(smallBag), 0o644); err != nil {
		t.Fatal(err)
	}
	// finality 20: longer than the split plus the heal, so neither side
	// finalizes its own chain (§6.3).
	swarm := strings.TrimSpace(mustCLI(t, "init", "--repo", filepath.Join(dir, "a"), "--model", cfgPath,
		"--quorum", "3", "--window", "1s", "--deadline", "2m", "--finality", "20", "--name", "partition"))
	var ps []*proc
	var boot, peers []string
	for i, task := range []string{"sst2", "subj", "trec", "cr", "mpqa", "mr"} {
		name := string(rune('a' + i))
		args := []string{"--dataset", filepath.Join(datasets, task), "--listen", "/ip4/" + lab.addrs[i] + "/tcp/4001",
			"--api", "127.0.0.1:0", "--no-mdns", "--limit", "300", "--epochs", "2"}
		if i > 0 {
			args = append(args, "--swarm", swarm)
		}
		for _, b := range boot {
			args = append(args, "--bootstrap", b)
		}
		p := &proc{name: name, repo: filepath.Join(dir, name), args: args}
		startInNetns(t, p, lab.ns[i])
		ps = append(ps, p)
		var id node.IDInfo
		waitFor(t, "node "+name+"'s API", 60*time.Second, func() bool {
			id = nsID(t, lab.ns[i], p.repo)
			return id.Online && id.Peer != ""
		}, p)
		boot = append(boot, "/ip4/"+lab.addrs[i]+"/tcp/4001/p2p/"+id.Peer)
		peers = append(peers, id.Peer)
	}
	return ps, peers
}

// startInNetns is proc.start run through `ip netns exec NS` (which execs
// coldnode in place, so p.cmd's process is the node). The node dies with
// the test binary.
func startInNetns(t *testing.T, p *proc, ns string) {
	t.Helper()
	var err error
	if p.log, err = os.OpenFile(p.repo+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, "coldnode", "start", "--repo", p.repo}, p.args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.stop(syscall.SIGKILL) })
}

// nsCLI runs one coldnode command inside namespace ns (where the node's
// loopback API is).
func nsCLI(ns string, args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, "coldnode"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("coldnode %s in %s: %v: %s", strings.Join(args, " "), ns, err, errb.String())
	}
	return out.String(), nil
}

func nsID(t *testing.T, ns, repo string) node.IDInfo {
	t.Helper()
	var id node.IDInfo
	if out, err := nsCLI(ns, "id", "--repo", repo, "--json"); err == nil {
		json.Unmarshal([]byte(out), &id)
	}
	return id
}

// nsRounds is the node's current chain, or nil if it cannot be read now.
func nsRounds(t *testing.T, ns, repo string) []node.RoundInfo {
	t.Helper()
	out, err := nsCLI(ns, "rounds", "--repo", repo, "--json")
	return parseRounds(t, repo, out, err)
}

// chains reads every node's chain; it fails the test if a node has exited.
func chains(t *testing.T, lab *netlab, ps []*proc) [][]node.RoundInfo {
	t.Helper()
	out := make([][]node.RoundInfo, len(ps))
	for i, p := range ps {
		checkAlive(t, p)
		out[i] = nsRounds(t, lab.ns[i], p.repo)
	}
	return out
}

// sameChain reports whether a and b hold the same records.
func sameChain(a, b []node.RoundInfo) bool {
	return slices.EqualFunc(a, b, func(x, y node.RoundInfo) bool { return x.Record == y.Record })
}

// oneChain returns the rounds every chain of cs holds, in the same records,
// up to the shortest chain (so every node's head is on one chain), or nil
// if two chains differ below that or the shortest has fewer than minRounds.
// Rounds close every few seconds, faster than the six chains can be read,
// so the nodes' heads are rarely equal at one reading.
func oneChain(cs [][]node.RoundInfo, minRounds int) []node.RoundInfo {
	short := cs[0]
	for _, c := range cs {
		if len(c) < len(short) {
			short = c
		}
	}
	if len(short) < minRounds {
		return nil
	}
	for _, c := range cs {
		if !sameChain(c[:len(short)], short) {
			return nil
		}
	}
	return short
}

// waitOneHead waits until every node's head is on one chain of at least
// minRounds rounds, and returns the rounds they share.
func waitOneHead(t *testing.T, lab *netlab, ps []*proc, minRounds int, limit time.Duration) []node.RoundInfo {
	t.Helper()
	var one []node.RoundInfo
	waitFor(t, fmt.Sprintf("one chain of round %d or more on all %d nodes", minRounds, len(ps)), limit, func() bool {
		one = oneChain(chains(t, lab, ps), minRounds)
		return one != nil
	}, ps...)
	return one
}

// waitSplit waits until every node of both sides has a chain of at least
// minRounds rounds, and the two sides' chains differ (each side closed
// rounds without the other). It returns the longest chain seen on each
// side (side A first), read just before the heal.
func waitSplit(t *testing.T, lab *netlab, ps []*proc, minRounds int, sideA func(int) bool) [2][]node.RoundInfo {
	t.Helper()
	var split [2][]node.RoundInfo
	waitFor(t, fmt.Sprintf("round %d on every node of both sides of the cut", minRounds), 5*time.Minute, func() bool {
		cs := chains(t, lab, ps)
		split = [2][]node.RoundInfo{}
		done := true
		for i, c := range cs {
			s := 1
			if sideA(i) {
				s = 0
			}
			if len(c) > len(split[s]) {
				split[s] = c
			}
			done = done && len(c) >= minRounds
		}
		return done
	}, ps...)
	if sameChain(split[0], split[1]) {
		t.Fatalf("both sides of the cut have the same chain of %d rounds: the cut did not separate them", len(split[0]))
	}
	return split
}

// waitHealed waits until every node's head is on one chain of at least
// minRounds rounds in which some round from minRounds on holds
// contributions from both sides, and returns the rounds all nodes share.
func waitHealed(t *testing.T, lab *netlab, ps []*proc, minRounds int, peers []string, sideA func(int) bool) []node.RoundInfo {
	t.Helper()
	var one []node.RoundInfo
	waitFor(t, "one chain on all nodes, with a round after the heal holding both sides' contributions", 6*time.Minute, func() bool {
		one = oneChain(chains(t, lab, ps), minRounds)
		if one == nil {
			return false
		}
		// the union round must not be the tip: a tip may still be replaced
		// by a heavier record of its round (see checkStoppedHeads)
		for _, r := range one[minRounds-1 : len(one)-1] {
			if a, b := sides(r, peers, sideA); a > 0 && b > 0 {
				return true
			}
		}
		return false
	}, ps...)
	return one
}

// stopAll sends SIGTERM to every node at once (so none closes rounds alone
// while the others stop), waits for each, and fails on an unclean exit.
func stopAll(t *testing.T, ps []*proc) {
	t.Helper()
	for _, p := range ps {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range ps {
		if err := p.stop(syscall.SIGTERM); err != nil {
			t.Errorf("node %s after SIGTERM: %v\n%s", p.name, err, p.tail())
		}
	}
}

// checkStoppedHeads reads every stopped node's chain from its repository:
// all heads must be on one chain that holds the healed rounds.
func checkStoppedHeads(t *testing.T, ps []*proc, healed []node.RoundInfo) {
	t.Helper()
	cs := make([][]node.RoundInfo, len(ps))
	var heads []string
	for i, p := range ps {
		cs[i] = rounds(t, p.repo)
		if len(cs[i]) == 0 {
			t.Fatalf("node %s: no rounds in its repository after it stopped", p.name)
		}
		heads = append(heads, fmt.Sprintf("%s:%d", p.name, len(cs[i])))
	}
	// The last healed round was the tip when it was read, and a heavier
	// record of a tip's round may replace it until the round is final:
	// nodes stopped while such a record spread can differ there (and
	// only there). Every round before it, the union round among them
	// (waitHealed), must be the same on every stopped node.
	settled := len(healed) - 1
	one := oneChain(cs, len(healed))
	if one == nil {
		one = oneChain(truncated(cs, settled), settled)
	}
	if one == nil || !sameChain(one[:settled], healed[:settled]) {
		t.Fatalf("stopped nodes' heads are not on one chain holding the %d settled healed rounds (heads %v)", settled, heads)
	}
	t.Logf("stopped nodes' heads (node:round) %v, on one chain through round %d at least", heads, settled)
}

// truncated is cs with every chain cut to at most n rounds.
func truncated(cs [][]node.RoundInfo, n int) [][]node.RoundInfo {
	out := make([][]node.RoundInfo, len(cs))
	for i, c := range cs {
		out[i] = c[:min(len(c), n)]
	}
	return out
}

// sides counts a round's contributions from side A and side B.
func sides(r node.RoundInfo, peers []string, sideA func(int) bool) (a, b int) {
	for _, c := range r.Contributions {
		i := slices.Index(peers, c.Peer)
		switch {
		case i < 0:
		case sideA(i):
			a++
		default:
			b++
		}
	}
	return a, b
}

// checkSplitOutcome checks the final chain against the two sides' chains
// read just before the heal. Each side closed at least two rounds on its
// own, so a union of the first split round (at most 6 contributions) cannot
// beat either side's head (at least 3+3), and §6.2 does not build it: the
// final record of that round must be exactly one side's. Later records of
// the winning side may have been replaced by unions with late contributions
// (the losing side's nodes, once they adopt the winning chain) and must
// then hold all of the winning record's contributions.
// It returns the index of the first split round.
func checkSplitOutcome(t *testing.T, split [2][]node.RoundInfo, final []node.RoundInfo, peers []string, sideA func(int) bool) int {
	t.Helper()
	f := 0 // index of the first split round
	for f < len(split[0]) && f < len(split[1]) && split[0][f].Record == split[1][f].Record {
		f++
	}
	if len(split[0])-f < 2 || len(split[1])-f < 2 {
		t.Fatalf("split at round %d: side A closed %d rounds on its own, side B %d; want at least 2 each", f+1, len(split[0])-f, len(split[1])-f)
	}
	for r := range f {
		if final[r].Record != split[0][r].Record {
			t.Errorf("round %d before the split: final record %s, both sides had %s", r+1, final[r].Record, split[0][r].Record)
		}
	}
	win := slices.IndexFunc(split[:], func(c []node.RoundInfo) bool { return c[f].Record == final[f].Record })
	if win < 0 {
		t.Fatalf("final record of round %d (%s, %d contributions) is neither side's record of that round: %s (%d), %s (%d)",
			f+1, final[f].Record, len(final[f].Contributions), split[0][f].Record, len(split[0][f].Contributions),
			split[1][f].Record, len(split[1][f].Contributions))
	}
	lose := 1 - win
	t.Logf("split at round %d: side %c's chain won (%d rounds, weight %d at the heal) over side %c's (%d rounds, weight %d)",
		f+1, 'A'+win, len(split[win]), weight(split[win]), 'A'+lose, len(split[lose]), weight(split[lose]))
	for r := f + 1; r < len(split[win]); r++ {
		if final[r].Record != split[win][r].Record {
			if !holdsAll(final[r], split[win][r]) {
				t.Errorf("round %d: final record %s does not hold all of the winning side's record %s", r+1, final[r].Record, split[win][r].Record)
			}
			t.Logf("round %d: the winning side's record was replaced by a union of %d contributions", r+1, len(final[r].Contributions))
		}
	}
	checkStale(t, split[win][f:], split[lose][f:], final)
	checkOwnSide(t, split, f, peers, sideA)
	return f
}

// holdsAll reports whether every contribution of sub is in r.
func holdsAll(r, sub node.RoundInfo) bool {
	for _, c := range sub.Contributions {
		if !slices.ContainsFunc(r.Contributions, func(x node.ContributionInfo) bool { return x.CID == c.CID }) {
			return false
		}
	}
	return r.Parent == sub.Parent
}

// checkStale: no contribution that only the losing side's split records
// held is on the final chain (it was built on a base the chain never had).
func checkStale(t *testing.T, win, lose, final []node.RoundInfo) {
	t.Helper()
	kept := map[string]bool{}
	for _, r := range win {
		for _, c := range r.Contributions {
			kept[c.CID] = true
		}
	}
	for _, r := range final {
		for _, c := range r.Contributions {
			for _, l := range lose {
				for _, lc := range l.Contributions {
					if lc.CID == c.CID && !kept[c.CID] {
						t.Errorf("contribution %s of the losing side's round %d is on the final chain at round %d", c.CID, l.Round, r.Round)
					}
				}
			}
		}
	}
}

// checkOwnSide: after its first split round, each side's records hold
// only its own peers' contributions (the cut really separated them).
func checkOwnSide(t *testing.T, split [2][]node.RoundInfo, f int, peers []string, sideA func(int) bool) {
	t.Helper()
	for s, chain := range split {
		for _, r := range chain[min(f+1, len(chain)):] {
			a, b := sides(r, peers, sideA)
			if s == 0 && b > 0 || s == 1 && a > 0 {
				t.Errorf("side %c's round %d holds %d side-A and %d side-B contributions", 'A'+s, r.Round, a, b)
			}
		}
	}
}

// weight is a chain's weight: its number of contributions (§6.2).
func weight(chain []node.RoundInfo) int {
	w := 0
	for _, r := range chain {
		w += len(r.Contributions)
	}
	return w
}

// cidLess orders CIDs bytewise over their binary form (§2).
func cidLess(t *testing.T, a, b string) bool {
	t.Helper()
	ca, err := cid.Decode(a)
	if err != nil {
		t.Fatalf("record CID %q: %v", a, err)
	}
	cb, err := cid.Decode(b)
	if err != nil {
		t.Fatalf("record CID %q: %v", b, err)
	}
	return bytes.Compare(ca.Bytes(), cb.Bytes()) < 0
}

var headLine = regexp.MustCompile(`(?m)^time=(\S+) level=INFO msg=head round=(\d+) record=(\S+) .* weight=(\d+)$`)

// headEvent is one head change a node logged.
type headEvent struct {
	at            time.Time
	round, weight int
	record        string
}

// heads reads every head change from p's log.
func heads(t *testing.T, p *proc) []headEvent {
	t.Helper()
	b, err := os.ReadFile(p.repo + ".log")
	if err != nil {
		t.Fatal(err)
	}
	var hs []headEvent
	for _, m := range headLine.FindAllStringSubmatch(string(b), -1) {
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			t.Fatalf("node %s: head line time %q: %v", p.name, m[1], err)
		}
		round, _ := strconv.Atoi(m[2])
		w, _ := strconv.Atoi(m[4])
		hs = append(hs, headEvent{at: at, round: round, record: m[3], weight: w})
	}
	if len(hs) == 0 {
		t.Fatalf("node %s logged no head changes (lines with msg=head ... weight=N)", p.name)
	}
	return hs
}

// checkHeadsMonotone: each head change p logged must go to a heavier
// record, or to an equally heavy one with a lower CID, since the old head
// still counts (§6.2).
func checkHeadsMonotone(t *testing.T, p *proc) {
	t.Helper()
	hs := heads(t, p)
	switches := 0
	for i := 1; i < len(hs); i++ {
		prev, h := hs[i-1], hs[i]
		if h.weight < prev.weight || h.weight == prev.weight && !cidLess(t, h.record, prev.record) {
			t.Errorf("node %s: head went from %s (round %d, weight %d) to %s (round %d, weight %d)",
				p.name, prev.record, prev.round, prev.weight, h.record, h.round, h.weight)
		}
		if h.round <= prev.round {
			switches++
		}
	}
	t.Logf("node %s: %d head changes, %d of them to a round not above the previous head", p.name, len(hs), switches)
}

// logTimings logs, per node, how long after the cut its next head came,
// and how long after the heal it first had a head on the final chain above
// the split.
func logTimings(t *testing.T, ps []*proc, cut, heal time.Time, final []node.RoundInfo, split int) {
	t.Helper()
	onFinal := map[string]bool{}
	for _, r := range final[split:] {
		onFinal[r.Record] = true
	}
	var b strings.Builder
	for _, p := range ps {
		afterCut, afterHeal := "-", "-"
		for _, h := range heads(t, p) {
			if h.at.After(cut) && afterCut == "-" {
				afterCut = h.at.Sub(cut).Round(100 * time.Millisecond).String()
			}
			if h.at.After(heal) && onFinal[h.record] && afterHeal == "-" {
				afterHeal = h.at.Sub(heal).Round(100 * time.Millisecond).String()
			}
		}
		fmt.Fprintf(&b, " %s: cut+%s heal+%s;", p.name, afterCut, afterHeal)
	}
	t.Logf("first head after the cut, first head on the final chain after the heal:%s", b.String())
}

// netlab is a small real network for whole-swarm tests: one network
// namespace per node, each joined by a veth pair to one of two bridges in
// the root namespace (side A, side B), and the two bridges joined by one
// more veth pair, the trunk. Taking the trunk down cuts the network in two
// with nothing in coldnode knowing; bringing it up heals it.
type netlab struct {
	tag   string   // unique prefix of every name this netlab made
	ns    []string // network namespace of node i
	addrs []string // IPv4 address of node i
}

// needNetns skips, saying why, where the test does not run as root, and
// fails where it runs as root (as CI does) without the ip command.
func needNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces (ip netns, veth, bridge); CI runs it as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("running as root but the ip command is missing: install iproute2 to run the partition test")
	}
}

// newNetlab makes n namespaces; node i is on bridge A when sideA(i).
// Everything is removed when the test ends.
func newNetlab(t *testing.T, n int, sideA func(int) bool) *netlab {
	t.Helper()
	l := &netlab{tag: fmt.Sprintf("cp%d", os.Getpid()%100000)}
	for i := range n { // leftovers of a killed run with the same tag
		l.ns = append(l.ns, fmt.Sprintf("%s-%d", l.tag, i))
	}
	l.remove()
	l.ns = nil
	t.Cleanup(l.remove)
	l.run(t, "link", "add", l.tag+"bA", "type", "bridge")
	l.run(t, "link", "add", l.tag+"bB", "type", "bridge")
	l.run(t, "link", "add", l.tag+"tA", "type", "veth", "peer", "name", l.tag+"tB")
	for _, s := range []string{"A", "B"} {
		l.run(t, "link", "set", l.tag+"t"+s, "master", l.tag+"b"+s)
		l.run(t, "link", "set", l.tag+"b"+s, "up")
		l.run(t, "link", "set", l.tag+"t"+s, "up")
	}
	for i := range n {
		br := l.tag + "bB"
		if sideA(i) {
			br = l.tag + "bA"
		}
		l.addNode(t, i, br)
	}
	return l
}

// run runs one ip command and fails the test, naming it, on error.
func (l *netlab) run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s(network namespaces need root and a kernel with veth and bridge support)",
			strings.Join(args, " "), err, out)
	}
}

// addNode makes node i's namespace with address 10.213.0.(i+1)/24 on bridge br.
func (l *netlab) addNode(t *testing.T, i int, br string) {
	t.Helper()
	ns, host, peer := fmt.Sprintf("%s-%d", l.tag, i), fmt.Sprintf("%sh%d", l.tag, i), fmt.Sprintf("%sn%d", l.tag, i)
	l.ns = append(l.ns, ns)
	l.addrs = append(l.addrs, fmt.Sprintf("10.213.0.%d", i+1))
	l.run(t, "netns", "add", ns)
	l.run(t, "link", "add", host, "type", "veth", "peer", "name", peer)
	l.run(t, "link", "set", host, "master", br)
	l.run(t, "link", "set", host, "up")
	l.run(t, "link", "set", peer, "netns", ns)
	l.run(t, "-n", ns, "link", "set", peer, "name", "eth0")
	l.run(t, "-n", ns, "addr", "add", l.addrs[i]+"/24", "dev", "eth0")
	l.run(t, "-n", ns, "link", "set", "eth0", "up")
	l.run(t, "-n", ns, "link", "set", "lo", "up")
}

// cut takes the trunk down: the two bridges stop exchanging frames.
func (l *netlab) cut(t *testing.T) { l.run(t, "link", "set", l.tag+"tA", "down") }

// heal brings the trunk back up.
func (l *netlab) heal(t *testing.T) { l.run(t, "link", "set", l.tag+"tA", "up") }

// remove deletes the namespaces (and with them the veth pairs) and the
// bridges; it runs after the nodes are stopped (cleanups run last first).
func (l *netlab) remove() {
	for _, ns := range l.ns {
		exec.Command("ip", "netns", "del", ns).Run()
	}
	for _, dev := range []string{"tA", "bA", "bB"} {
		exec.Command("ip", "link", "del", l.tag+dev).Run()
	}
}
