package memlimit

import (
	"context"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestLimitRule(t *testing.T) {
	c := Config{Headroom: 1.08, Slack: 32 << 20}
	if got, want := c.Limit(1000<<20), int64(1.08*float64(1000<<20))+32<<20; got != want {
		t.Fatalf("Limit(1000 MiB) = %d, want %d", got, want)
	}
	c.Ceiling = 500 << 20
	if got := c.Limit(1000 << 20); got != 500<<20 {
		t.Fatalf("Limit over the ceiling = %d, want the ceiling %d", got, 500<<20)
	}
	if got := (Config{Headroom: 2}).Limit(1 << 63); got <= 0 {
		t.Fatalf("Limit of a huge heap overflowed to %d", got)
	}
}

// fakeHeap replays (cycles, live) readings and records the limits set.
type fakeHeap struct {
	reads [][2]uint64
	set   []int64
}

func (f *fakeHeap) governor(cfg Config) *Governor {
	return &Governor{
		cfg: cfg,
		read: func() (uint64, uint64) {
			r := f.reads[0]
			f.reads = f.reads[1:]
			return r[0], r[1]
		},
		set: func(l int64) int64 { f.set = append(f.set, l); return l },
	}
}

func TestGovernorFollowsTheHighWaterMark(t *testing.T) {
	f := &fakeHeap{reads: [][2]uint64{
		{0, 0},    // no collection yet: no limit
		{1, 100},  // first: 1.5*100+10
		{1, 900},  // the same collection read again: ignored
		{2, 60},   // lower: kept
		{3, 200},  // higher: raised
		{4, 150},  // lower: kept
		{5, 1000}, // over the ceiling: the ceiling
		{6, 2000}, // still the ceiling: not set again
	}}
	g := f.governor(Config{Headroom: 1.5, Slack: 10, Ceiling: 1000})
	for range 8 {
		g.step()
	}
	if want := []int64{160, 310, 1000}; !slices.Equal(f.set, want) {
		t.Fatalf("limits set %v, want %v", f.set, want)
	}
	if g.high != 2000 {
		t.Fatalf("high-water mark %d, want 2000", g.high)
	}
}

// TestRunFollowsTheLiveHeap runs a Governor on this process: after a
// collection with 64 MiB live the limit is at least the rule's for it, and
// when Run ends the limit is what it was before.
func TestRunFollowsTheLiveHeap(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	cfg := Config{Headroom: 1.08, Slack: 32 << 20, Poll: time.Millisecond}
	var mu sync.Mutex
	var logged []int64
	g := New(cfg, func(limit int64, _ uint64) { mu.Lock(); logged = append(logged, limit); mu.Unlock() })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); g.Run(ctx) }()
	keep := make([]byte, 64<<20)
	want := cfg.Limit(uint64(len(keep)))
	deadline := time.Now().Add(20 * time.Second) // a bound on a hang, not a timing
	for l := debug.SetMemoryLimit(-1); (l < want || l == before) && time.Now().Before(deadline); l = debug.SetMemoryLimit(-1) {
		runtime.GC()
		time.Sleep(2 * time.Millisecond)
	}
	during := debug.SetMemoryLimit(-1)
	runtime.KeepAlive(keep)
	cancel()
	wg.Wait()
	if during < want || during >= before {
		t.Fatalf("limit while running %d, want >= %d (and below the previous %d)", during, want, before)
	}
	if after := debug.SetMemoryLimit(-1); after != before {
		t.Fatalf("limit after Run %d, want the previous %d", after, before)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) == 0 || logged[len(logged)-1] != during {
		t.Fatalf("logged limits %v, want the last to be %d", logged, during)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1360MiB": 1360 << 20, "2GiB": 2 << 30, "512KiB": 512 << 10, "77B": 77, "1TiB": 1 << 40, "123456": 123456,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "1.5GiB", "2GB", "1 GiB", "99999999999TiB", "auto"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) took it", in)
		}
	}
}
