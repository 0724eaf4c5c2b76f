package swarmbench

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestParseStat reads utime and stime after the command name, which may
// hold spaces and parentheses.
func TestParseStat(t *testing.T) {
	line := "4242 (co) ld (x)) S 1 4242 4242 0 -1 4194560 1200 0 0 0 357 42 0 0 20 0 9 0 100 0 0\n"
	user, sys, err := parseStat([]byte(line))
	if err != nil || user != 3570*time.Millisecond || sys != 420*time.Millisecond {
		t.Fatalf("parseStat = %v, %v, %v; want 3.57s, 0.42s", user, sys, err)
	}
	for _, bad := range []string{"", "4242 comm S 1 2 3", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 3x7 42 0"} {
		if _, _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) gave no error", bad)
		}
	}
}

// TestCPUBetween interpolates each end of a window between its samples
// and refuses a window the series does not cover.
func TestCPUBetween(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	series := []cpuSample{
		{at(0), 0, 20 * time.Millisecond},
		{at(100), 200 * time.Millisecond, 40 * time.Millisecond},
		{at(200), 300 * time.Millisecond, 100 * time.Millisecond},
	}
	user, sys, ok := cpuBetween(series, at(50), at(150))
	if !ok || user != 150*time.Millisecond || sys != 40*time.Millisecond {
		t.Errorf("[50, 150] ms: user %v sys %v ok %v; want 150ms, 40ms", user, sys, ok)
	}
	if user, sys, ok := cpuBetween(series, at(0), at(200)); !ok || user != 300*time.Millisecond || sys != 80*time.Millisecond {
		t.Errorf("the whole series: user %v sys %v ok %v", user, sys, ok)
	}
	for _, w := range [][2]int{{-10, 100}, {100, 250}, {150, 50}} {
		if _, _, ok := cpuBetween(series, at(w[0]), at(w[1])); ok {
			t.Errorf("window %v ms is not covered, but was measured", w)
		}
	}
	if _, _, ok := cpuBetween(nil, at(0), at(1)); ok {
		t.Error("an empty series measured a window")
	}
}

// TestSampleCPU samples this process while it spins: the series grows,
// never goes back, and sees the spin's user time.
func TestSampleCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/<pid>/stat is Linux's")
	}
	s := startCPUSampler([]int{os.Getpid()})
	end := time.Now().Add(300 * time.Millisecond)
	for x := 1; time.Now().Before(end); x = x*7 + 1 {
		_ = x
	}
	series := s.finish()
	if len(series) < 3 {
		t.Fatalf("%d samples in 300 ms", len(series))
	}
	for i := 1; i < len(series); i++ {
		p, n := series[i-1], series[i]
		if !n.at.After(p.at) || n.user < p.user || n.sys < p.sys {
			t.Fatalf("sample %d goes back: %+v after %+v", i, n, p)
		}
	}
	first, last := series[0], series[len(series)-1]
	if spun := last.user - first.user; spun < 100*time.Millisecond {
		t.Errorf("spinning %v charged %v of user time", last.at.Sub(first.at), spun)
	}
	if _, err := readCPU([]int{os.Getpid(), 1 << 30}); err == nil {
		t.Error("a process that does not exist was read")
	}
}

// TestWindowSummary: the median and system share count only the rounds
// whose window was read, and an unread window prints as dashes.
func TestWindowSummary(t *testing.T) {
	s := time.Second
	r := &Report{Rounds: []Round{
		{Round: 1, WindowUser: 1 * s, WindowSys: 1 * s, Window: true},
		{Round: 2},
		{Round: 3, WindowUser: 3 * s, WindowSys: 1 * s, Window: true},
		{Round: 4, WindowUser: 2 * s, WindowSys: 1 * s, Window: true},
	}}
	sum := r.Summary()
	if sum.Windows != 3 || sum.WindowMedian != 3*s || sum.WindowSys != 3.0/9 {
		t.Errorf("summary %+v; want 3 windows, median 3s, system share 1/3", sum)
	}
	var out strings.Builder
	r.Write(&out)
	if !strings.Contains(out.String(), "median 3.00s a round, 33% of it system time") {
		t.Errorf("no window line:\n%s", out.String())
	}
	if got := r.Rounds[1].windowCPU(); strings.Trim(got, " -") != "" {
		t.Errorf("an unread window prints %q", got)
	}
	if got := strings.Fields(r.Rounds[0].windowCPU()); len(got) != 2 || got[0] != "2.00" || got[1] != "50" {
		t.Errorf("window of round 1 prints %q, want 2.00 and 50", got)
	}
}
