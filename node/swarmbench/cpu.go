package swarmbench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// The bench reads the children's CPU time from /proc while they run, so
// that each round can be charged the CPU the whole swarm spent inside its
// overhead window (from the last announcement to the last head), split
// into user and system time. Exit rusage gives only a process's total.
const (
	cpuEvery = 50 * time.Millisecond
	// userHZ is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on
	// every Linux the node builds for).
	userHZ = 100
)

// cpuSample is the children's CPU time, summed, at one moment.
type cpuSample struct {
	at        time.Time
	user, sys time.Duration
}

// cpuSampler reads the children's CPU time every cpuEvery on its own
// goroutine, which owns the series until finish returns it.
type cpuSampler struct {
	stop chan struct{}
	done chan []cpuSample
}

// startCPUSampler starts sampling the processes pids.
func startCPUSampler(pids []int) *cpuSampler {
	s := &cpuSampler{stop: make(chan struct{}), done: make(chan []cpuSample, 1)}
	go func() { s.done <- sampleCPU(pids, s.stop) }()
	return s
}

// finish stops the sampler and returns its series. Call it once.
func (s *cpuSampler) finish() []cpuSample {
	close(s.stop)
	return <-s.done
}

// sampleCPU appends a sample every cpuEvery until stop is closed. A sample
// in which any process cannot be read (it has exited, or there is no /proc)
// is left out, so every sample covers the same processes.
func sampleCPU(pids []int, stop <-chan struct{}) []cpuSample {
	tick := time.NewTicker(cpuEvery)
	defer tick.Stop()
	var out []cpuSample
	for {
		if s, err := readCPU(pids); err == nil {
			out = append(out, s)
		}
		select {
		case <-stop:
			return out
		case <-tick.C:
		}
	}
}

// readCPU sums the CPU times of pids now.
func readCPU(pids []int) (cpuSample, error) {
	s := cpuSample{at: time.Now()}
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return s, err
		}
		user, sys, err := parseStat(b)
		if err != nil {
			return s, fmt.Errorf("process %d: %w", pid, err)
		}
		s.user += user
		s.sys += sys
	}
	return s, nil
}

var errStat = errors.New("malformed /proc stat line")

// parseStat reads utime and stime, the 14th and 15th fields of a
// /proc/<pid>/stat line. The command name (field 2) is in parentheses and
// may hold spaces and parentheses, so fields are counted after its last ')'.
func parseStat(b []byte) (user, sys time.Duration, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errStat
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, 0, errStat
	}
	u, err1 := strconv.ParseUint(string(f[11]), 10, 63)
	s, err2 := strconv.ParseUint(string(f[12]), 10, 63)
	if err1 != nil || err2 != nil {
		return 0, 0, errStat
	}
	tick := time.Second / userHZ
	return time.Duration(u) * tick, time.Duration(s) * tick, nil
}

// cpuBetween returns the user and system time the series' processes spent
// from a to b, each end interpolated linearly between its two neighbouring
// samples; ok is false when the series does not cover [a, b].
func cpuBetween(series []cpuSample, a, b time.Time) (user, sys time.Duration, ok bool) {
	if b.Before(a) {
		return 0, 0, false
	}
	sa, okA := cpuAt(series, a)
	sb, okB := cpuAt(series, b)
	if !okA || !okB {
		return 0, 0, false
	}
	return sb.user - sa.user, sb.sys - sa.sys, true
}

// cpuAt interpolates the cumulative CPU times at t.
func cpuAt(series []cpuSample, t time.Time) (cpuSample, bool) {
	for i := 1; i < len(series); i++ {
		p, n := series[i-1], series[i]
		if t.Before(p.at) || t.After(n.at) {
			continue
		}
		span := n.at.Sub(p.at)
		if span <= 0 {
			return p, true
		}
		frac := float64(t.Sub(p.at)) / float64(span)
		lerp := func(x, y time.Duration) time.Duration { return x + time.Duration(frac*float64(y-x)) }
		return cpuSample{at: t, user: lerp(p.user, n.user), sys: lerp(p.sys, n.sys)}, true
	}
	return cpuSample{}, false
}
