// Package memlimit sets the Go runtime's soft memory limit of a node
// process (runtime/debug.SetMemoryLimit, what GOMEMLIMIT sets).
//
// A node's live heap moves between phases of very different sizes
// (training: weights, gradients and moments; a round's running sum;
// deltas being checked), and each phase leaves garbage and free pages the
// runtime keeps. GOGC alone lets the process grow to (1 + GOGC/100) times
// the live heap plus whatever free pages the scavenger has not yet
// returned, so the resident set rises well above what any phase needs
// (docs/benchmarks.md, item 6). A soft limit a little above the largest
// live heap removes most of that, but the right value depends on the body
// size and the training settings.
//
// Governor finds it: it watches the live heap after each collection and
// keeps the limit at Headroom times the highest live heap seen so far plus
// Slack. The limit only rises, so a phase never has less than the largest
// one before it; a phase that needs more runs into the limit once, the
// collector works harder for at most one poll, and the limit follows it.
// A ceiling (a fraction of the cgroup's or the machine's memory) caps it,
// so a node that outgrows its container collects harder instead of being
// killed.
package memlimit

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// Config is a Governor's rule.
type Config struct {
	// Headroom multiplies the highest live heap: the garbage and runtime
	// overhead allowed above it, as a fraction (1.08: 8%).
	Headroom float64
	// Slack is added to the limit for memory that is not live heap:
	// goroutine stacks, runtime metadata, buffers between collections.
	Slack int64
	// Ceiling caps the limit (0: none).
	Ceiling int64
	// Poll is how often the live heap is read.
	Poll time.Duration
}

// DefaultConfig is the node's rule. 1.08 times the live heap plus 32 MiB
// is 2.85-2.9x a 125M-parameter body when int8-moment training is the
// largest phase, the hand-set limit the item 6 runs found to cost no CPU.
func DefaultConfig() Config {
	return Config{Headroom: 1.08, Slack: 32 << 20, Ceiling: DefaultCeiling(), Poll: 25 * time.Millisecond}
}

// Limit is the rule: the soft limit for a highest live heap of live bytes.
func (c Config) Limit(live uint64) int64 {
	limit := int64(math.MaxInt64)
	if l := c.Headroom*float64(live) + float64(c.Slack); l < math.MaxInt64 {
		limit = int64(l)
	}
	if c.Ceiling > 0 && limit > c.Ceiling {
		return c.Ceiling
	}
	return limit
}

// heapReader reads the runtime's completed collections and the live heap
// the last one marked.
type heapReader func() (cycles, live uint64)

func readHeap() heapReader {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"}}
	return func() (uint64, uint64) {
		metrics.Read(s)
		return s[0].Value.Uint64(), s[1].Value.Uint64()
	}
}

// Governor keeps the runtime's soft memory limit at its Config's Limit of
// the highest live heap seen. Only Run's goroutine changes the limit.
type Governor struct {
	cfg   Config
	read  heapReader
	set   func(int64) int64 // debug.SetMemoryLimit
	log   func(limit int64, live uint64)
	high  uint64 // the highest live heap seen
	limit int64  // the limit set; 0 before the first collection
	seen  uint64 // collections seen
}

// New returns a Governor of the running process. logf, if not nil, hears
// each new limit.
func New(cfg Config, logf func(limit int64, live uint64)) *Governor {
	return &Governor{cfg: cfg, read: readHeap(), set: debug.SetMemoryLimit, log: logf}
}

// Run follows the live heap until ctx ends, then restores the limit the
// process had before.
func (g *Governor) Run(ctx context.Context) {
	before := g.set(-1)
	defer g.set(before)
	t := time.NewTicker(g.cfg.Poll)
	defer t.Stop()
	for {
		g.step()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// step reads the live heap once and raises the limit if a collection
// found more live bytes than any before.
func (g *Governor) step() {
	cycles, live := g.read()
	if cycles == g.seen {
		return
	}
	g.seen = cycles
	if live <= g.high && g.limit != 0 {
		return
	}
	g.high = max(g.high, live)
	if next := g.cfg.Limit(g.high); next > g.limit {
		g.limit = next
		g.set(next)
		if g.log != nil {
			g.log(next, g.high)
		}
	}
}

// ParseSize reads a byte size as GOMEMLIMIT writes it: a non-negative
// integer with an optional unit B, KiB, MiB, GiB or TiB.
func ParseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	num, shift := s, uint(0)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, shift = strings.TrimSuffix(s, u.suffix), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("memory limit %q: want bytes with an optional unit B, KiB, MiB, GiB or TiB (e.g. 1360MiB)", s)
	}
	return n << shift, nil
}

// LiveHeap is the live heap the runtime's last collection marked.
func LiveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}
