package consensus

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
)

var update = flag.Bool("update", false, "rewrite the expected output of testdata/*.txt traces")

// TestTraces runs the scripted round traces in testdata/*.txt. Each case
// is a command line, a "----" line and the expected output up to a blank
// line; -update rewrites the expected output.
func TestTraces(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if len(files) == 0 {
		t.Fatal("no traces in testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runTrace(t, f) })
	}
}

type traceCase struct {
	comments []string
	cmd      string
	want     string
}

func parseTrace(t *testing.T, data string) []traceCase {
	var cases []traceCase
	var cur traceCase
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case l == "":
		case strings.HasPrefix(l, "#"):
			cur.comments = append(cur.comments, l)
		case cur.cmd == "":
			cur.cmd = l
			if i+1 >= len(lines) || lines[i+1] != "----" {
				t.Fatalf("line %d: command %q not followed by ----", i+1, l)
			}
			i++
			var want []string
			for i+1 < len(lines) && lines[i+1] != "" {
				i++
				want = append(want, lines[i])
			}
			cur.want = strings.Join(want, "\n")
			cases = append(cases, cur)
			cur = traceCase{}
		}
	}
	return cases
}

func runTrace(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cases := parseTrace(t, string(data))
	var c *cluster
	var out strings.Builder
	for _, tc := range cases {
		got := strings.TrimRight(runCommand(t, &c, tc.cmd), "\n")
		for _, l := range tc.comments {
			out.WriteString(l + "\n")
		}
		fmt.Fprintf(&out, "%s\n----\n%s\n\n", tc.cmd, got)
		if !*update && got != tc.want {
			t.Errorf("%s: %s\ngot:\n%s\nwant:\n%s", path, tc.cmd, got, tc.want)
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func runCommand(t *testing.T, cp **cluster, line string) string {
	f := strings.Fields(line)
	if f[0] == "genesis" {
		*cp = newCluster(t, traceParams(t, f[1:]))
		(*cp).spread, (*cp).spot = argDur(t, f[1:], "spread", 0), int(argInt(t, f[1:], "spot", 0))
		return "ok"
	}
	c := *cp
	if c == nil {
		t.Fatalf("%q before genesis", line)
	}
	c.out.Reset()
	traceCmd(t, c, f[0], f[1:])
	if c.out.Len() == 0 {
		return "ok"
	}
	return c.out.String()
}

func traceCmd(t *testing.T, c *cluster, cmd string, args []string) {
	switch cmd {
	case "peers", "join":
		for _, a := range args {
			c.add(a)
		}
	case "propose", "propose-bad", "propose-late":
		for _, a := range args {
			c.propose(a, cmd == "propose-bad", cmd == "propose-late")
		}
	case "deliver":
		c.deliver()
	case "drop":
		c.printf("dropped %d messages", len(c.outbox))
		c.outbox = nil
	case "tick":
		c.tick(argDur(t, []string{"d=" + args[0]}, "d", 0))
	case "heads":
		c.out.WriteString(c.heads())
	case "partition":
		c.partition(args)
	case "heal":
		clear(c.group)
	default:
		byzCmd(t, c, cmd, args)
	}
}

func byzCmd(t *testing.T, c *cluster, cmd string, args []string) {
	switch cmd {
	case "equivocate":
		c.equivocate(args[0])
	case "forge":
		c.forge(args[0])
	case "withhold":
		c.nodes[args[0]].withhold = true
	case "crash":
		c.nodes[args[0]].down = true
	case "restart":
		c.restart(args[0])
	default:
		t.Fatalf("unknown trace command %q", cmd)
	}
}

func (c *cluster) partition(args []string) {
	g := 0
	for _, a := range args {
		if a == "/" {
			g++
			continue
		}
		c.group[a] = g
	}
}

// restart replaces a peer's machine and replays its store, as a node does
// after a crash.
func (c *cluster) restart(name string) {
	old := c.nodes[name]
	n := c.add(name)
	for _, id := range sortedCIDs(old.store) {
		c.step(n, Block{CID: id, Data: old.store[id]})
	}
	c.process(n)
}

// equivocate signs two different contributions on the peer's head base,
// bypassing the Machine's guard, and queues both.
func (c *cluster) equivocate(name string) {
	n := c.nodes[name]
	h := n.m.Head()
	for i := 0; i < 2; i++ {
		ct := wire.Contribution{Swarm: n.m.swarm, Round: h.Round + 1, Base: h.Base,
			Delta: rawCID(fmt.Sprintf("delta-%s-%d", name, i)), Task: "evil", Examples: 1}
		if err := ct.Sign(wire.SeededSigner(name)); err != nil {
			c.t.Fatal(err)
		}
		b, _ := ct.Encode()
		c.printf("%s: publish contribution %s", name, short(wire.CIDOf(b)))
		c.outbox = append(c.outbox, outMsg{from: name, payload: announce(n.m.swarm, wire.KindContribution, b)})
	}
}

// forge publishes a record on the peer's head with the usable set and a
// fused CID that is not the fusion of its inputs.
func (c *cluster) forge(name string) {
	n := c.nodes[name]
	h := n.m.Head()
	r := wire.Record{Swarm: n.m.swarm, Round: h.Round + 1, Parent: h.Record, Base: h.Base,
		Contributions: n.m.usable(h.Base, h.Round+1), Fused: rawCID("forged")}
	b, err := r.Encode()
	if err != nil {
		c.t.Fatal(err)
	}
	n.store[wire.CIDOf(b)] = b
	c.printf("%s: publish record %s", name, short(wire.CIDOf(b)))
	c.outbox = append(c.outbox, outMsg{from: name, payload: announce(n.m.swarm, wire.KindRecord, b)})
}

func traceParams(t *testing.T, args []string) wire.Params {
	p := wire.DefaultParams()
	p.Quorum = int(argInt(t, args, "quorum", int64(p.Quorum)))
	p.Finality = int(argInt(t, args, "finality", int64(p.Finality)))
	p.Window = argDur(t, args, "window", p.Window)
	p.Deadline = argDur(t, args, "deadline", p.Deadline)
	return p
}

func argValue(args []string, key string) (string, bool) {
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

func argInt(t *testing.T, args []string, key string, def int64) int64 {
	v, ok := argValue(args, key)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", key, v, err)
	}
	return n
}

func argDur(t *testing.T, args []string, key string, def time.Duration) time.Duration {
	v, ok := argValue(args, key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", key, v, err)
	}
	return d
}
