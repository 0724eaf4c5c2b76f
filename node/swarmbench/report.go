package swarmbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/coldnode/coldnode/node"
)

// Report is what one Run measured.
type Report struct {
	Nodes     int
	Wall      time.Duration
	BodyBytes int64 // size of a fused base (the shared body) in bytes
	Agreed    bool  // every node's chain has the same record for every round
	Rounds    []Round
	Procs     []Proc
}

// Round is the timing of one round of the final chain.
type Round struct {
	Round         int
	Record        string
	Contributions int
	LastProposed  time.Time     // the last contribution announced
	FirstHead     time.Time     // the first node adopting Record
	LastHead      time.Time     // the last node adopting Record
	Overhead      time.Duration // LastHead - LastProposed
	Build         time.Duration // first "built record" - LastProposed
	Period        time.Duration // LastHead - the previous round's LastHead (0 for round 1)
	Train         time.Duration // the longest finetuning of this round
	// With Config.Verbose (debug lines), where Overhead went:
	Checks time.Duration // the last node's last delta check done - LastProposed
	Fuse   time.Duration // median seconds of one fusion of this round (build or verify)
	// The CPU all nodes spent from LastProposed to LastHead, user and
	// system (kernel) time, read from /proc while they ran; Window is
	// false where it could not be (no /proc).
	WindowUser, WindowSys time.Duration
	Window                bool
}

// windowCPU formats a round's window CPU and its system share, or dashes.
func (x Round) windowCPU() string {
	if !x.Window {
		return fmt.Sprintf("%12s  %5s", "-", "-")
	}
	all := x.WindowUser + x.WindowSys
	return fmt.Sprintf("%12.2f  %5.0f", all.Seconds(), 100*ratio(int64(x.WindowSys), int64(all)))
}

// Proc is what the kernel and the log say about one node process.
type Proc struct {
	Name       string
	PeakRSS    int64 // bytes (ru_maxrss)
	CPU        time.Duration
	FetchBytes int64 // bytes fetched from peers, over the whole run
	Fetches    int
	Heads      int // head changes logged (more than Rounds means a fork switch)
}

// report reads the logs and repositories of the exited nodes.
func (b *bench) report(ctx context.Context, wall time.Duration) (*Report, error) {
	rep := &Report{Nodes: b.cfg.Nodes, Wall: wall}
	logs := make([][]line, len(b.procs))
	for i, p := range b.procs {
		f, err := os.Open(p.logPath)
		if err != nil {
			return nil, fmt.Errorf("node %s log: %w", p.name, err)
		}
		logs[i], err = parseLog(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("node %s log: %w", p.name, err)
		}
		rep.Procs = append(rep.Procs, procFigures(p, logs[i]))
	}
	chains, err := b.chains(ctx)
	if err != nil {
		return nil, err
	}
	rep.Agreed = agree(chains, b.cfg.Rounds)
	for r := 1; r <= b.cfg.Rounds && r <= len(chains[0]); r++ {
		rep.Rounds = append(rep.Rounds, roundFigures(logs, chains[0][r-1]))
	}
	for i := 1; i < len(rep.Rounds); i++ {
		rep.Rounds[i].Period = rep.Rounds[i].LastHead.Sub(rep.Rounds[i-1].LastHead)
	}
	for i := range rep.Rounds {
		x := &rep.Rounds[i]
		x.WindowUser, x.WindowSys, x.Window = cpuBetween(b.cpu, x.LastProposed, x.LastHead)
	}
	if len(chains[0]) > 0 {
		rep.BodyBytes, err = b.size(ctx, chains[0][0].Fused)
	}
	return rep, err
}

// chains reads every node's round index (offline: the nodes have exited).
func (b *bench) chains(ctx context.Context) ([][]node.RoundInfo, error) {
	var out [][]node.RoundInfo
	for _, p := range b.procs {
		raw, err := cli(ctx, b.cfg.Bin, "rounds", "--repo", p.repo, "--json")
		if err != nil {
			return nil, err
		}
		var rs []node.RoundInfo
		if err := json.Unmarshal(raw, &rs); err != nil {
			return nil, fmt.Errorf("rounds of node %s: %w", p.name, err)
		}
		out = append(out, rs)
	}
	return out, nil
}

// size returns the byte size of the file c.
func (b *bench) size(ctx context.Context, c string) (int64, error) {
	raw, err := cli(ctx, b.cfg.Bin, "show", "--repo", b.procs[0].repo, c)
	if err != nil {
		return 0, err
	}
	var o node.Object
	if err := json.Unmarshal(raw, &o); err != nil {
		return 0, fmt.Errorf("show %s: %w", c, err)
	}
	return o.Size, nil
}

// agree reports whether every chain has at least n rounds and the same
// record and fused base for each.
func agree(chains [][]node.RoundInfo, n int) bool {
	for _, c := range chains {
		if len(c) < n {
			return false
		}
		for r := range n {
			if c[r].Record != chains[0][r].Record || c[r].Fused != chains[0][r].Fused {
				return false
			}
		}
	}
	return true
}

// roundFigures times one round of the final chain from every node's log.
func roundFigures(logs [][]line, ri node.RoundInfo) Round {
	r := int(ri.Round)
	fr := Round{Round: r, Record: ri.Record, Contributions: len(ri.Contributions)}
	var built time.Time
	adopted := make([]time.Time, len(logs))
	var fuses []time.Duration
	for i, lines := range logs {
		var training time.Time
		for _, l := range lines {
			if l.round() != r {
				continue
			}
			switch l.Msg {
			case "proposed":
				fr.LastProposed = later(fr.LastProposed, l.Time)
			case "built record":
				built = earlier(built, l.Time)
			case "head":
				if adopted[i].IsZero() && l.Attr["record"] == ri.Record {
					adopted[i] = l.Time
				}
			case "training":
				training = l.Time
			case "trained":
				if !training.IsZero() {
					fr.Train = max(fr.Train, l.Time.Sub(training))
				}
			case "fused":
				fuses = append(fuses, l.seconds("seconds"))
			}
		}
		fr.FirstHead = earlier(fr.FirstHead, adopted[i])
		fr.LastHead = later(fr.LastHead, adopted[i])
	}
	if fr.LastProposed.IsZero() {
		return fr
	}
	fr.Overhead = fr.LastHead.Sub(fr.LastProposed)
	if !built.IsZero() {
		fr.Build = built.Sub(fr.LastProposed)
	}
	fr.Checks = lastCheck(logs, fr.LastProposed, adopted).Sub(fr.LastProposed)
	fr.Fuse = median(fuses)
	return fr
}

// lastCheck is the latest "checked" line of any node between from and that
// node's adoption of the round's record (from itself when there is none).
func lastCheck(logs [][]line, from time.Time, adopted []time.Time) time.Time {
	last := from
	for i, lines := range logs {
		for _, l := range lines {
			if l.Msg == "checked" && l.Time.After(from) && !l.Time.After(adopted[i]) {
				last = later(last, l.Time)
			}
		}
	}
	return last
}

func median(v []time.Duration) time.Duration {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

func procFigures(p *proc, lines []line) Proc {
	pf := Proc{Name: p.name}
	pf.PeakRSS, pf.CPU = p.usage()
	for _, l := range lines {
		switch l.Msg {
		case "fetched":
			pf.FetchBytes += l.int64("bytes")
			pf.Fetches++
		case "head":
			pf.Heads++
		}
	}
	return pf
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// earlier returns the earlier of two times, ignoring zero ones.
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// Write prints the report as plain-text tables.
func (r *Report) Write(w io.Writer) {
	fmt.Fprintf(w, "nodes %d, wall %.1fs, body %.1f MB, all nodes agree: %v\n",
		r.Nodes, r.Wall.Seconds(), float64(r.BodyBytes)/1e6, r.Agreed)
	fmt.Fprintln(w, "round  contribs  train_s  checks_s  build_s  fuse_s  overhead_s  window_cpu_s  sys_%  period_s  record")
	for _, x := range r.Rounds {
		fmt.Fprintf(w, "%5d  %8d  %7.2f  %8.2f  %7.2f  %6.2f  %10.2f  %s  %8.2f  %s\n", x.Round, x.Contributions,
			x.Train.Seconds(), x.Checks.Seconds(), x.Build.Seconds(), x.Fuse.Seconds(), x.Overhead.Seconds(),
			x.windowCPU(), x.Period.Seconds(), x.Record)
	}
	fmt.Fprintln(w, "node  peak_rss_MB  rss/body  cpu_s  fetched_MB  fetches  heads")
	for _, p := range r.Procs {
		fmt.Fprintf(w, "%4s  %11.1f  %8.2f  %5.1f  %10.1f  %7d  %5d\n", p.Name, float64(p.PeakRSS)/1e6,
			ratio(p.PeakRSS, r.BodyBytes), p.CPU.Seconds(), float64(p.FetchBytes)/1e6, p.Fetches, p.Heads)
	}
	s := r.Summary()
	fmt.Fprintf(w, "summary: overhead median %.2fs max %.2fs; peak RSS median %.1f MB max %.1f MB (%.2fx body); cpu total %.1fs\n",
		s.OverheadMedian.Seconds(), s.OverheadMax.Seconds(), float64(s.RSSMedian)/1e6, float64(s.RSSMax)/1e6,
		ratio(s.RSSMax, r.BodyBytes), s.CPU.Seconds())
	if s.Windows > 0 {
		fmt.Fprintf(w, "window: all nodes' CPU from the last announcement to the last head, median %.2fs a round, %.0f%% of it system time\n",
			s.WindowMedian.Seconds(), 100*s.WindowSys)
	}
}

// Summary is the report in a few numbers.
type Summary struct {
	OverheadMedian, OverheadMax time.Duration
	RSSMedian, RSSMax           int64
	CPU                         time.Duration
	// Over the rounds whose window CPU was read: its median, and the
	// system (kernel) share of all of it.
	WindowMedian time.Duration
	WindowSys    float64
	Windows      int
}

// windows fills the window figures of s from rounds.
func (s *Summary) windows(rounds []Round) {
	var all []time.Duration
	var user, sys time.Duration
	for _, x := range rounds {
		if x.Window {
			all = append(all, x.WindowUser+x.WindowSys)
			user, sys = user+x.WindowUser, sys+x.WindowSys
		}
	}
	s.Windows = len(all)
	s.WindowMedian = median(all)
	s.WindowSys = ratio(int64(sys), int64(user+sys))
}

// Summary computes medians and maxima over rounds and processes.
func (r *Report) Summary() Summary {
	var s Summary
	var ov []time.Duration
	for _, x := range r.Rounds {
		ov = append(ov, x.Overhead)
	}
	var rss []int64
	for _, p := range r.Procs {
		rss = append(rss, p.PeakRSS)
		s.CPU += p.CPU
	}
	slices.Sort(ov)
	slices.Sort(rss)
	if len(ov) > 0 {
		s.OverheadMedian, s.OverheadMax = ov[len(ov)/2], ov[len(ov)-1]
	}
	if len(rss) > 0 {
		s.RSSMedian, s.RSSMax = rss[len(rss)/2], rss[len(rss)-1]
	}
	s.windows(r.Rounds)
	return s
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Compare prints one line per report against the baseline (a 1-node run
// of the same training): medians over the rounds after the first (round 1
// includes joining; with one round, round 1).
func Compare(w io.Writer, base *Report, reps []*Report) {
	fmt.Fprintln(w, "nodes  train_s  overhead_s  checks_s  build_s  fuse_s  period_s  period-base_train_s  rss_max_MB  rss/body  cpu_s  fetched_MB/node/round  agree")
	for _, r := range append([]*Report{base}, reps...) {
		if r == nil {
			continue
		}
		m := r.steady()
		var fetched int64
		for _, p := range r.Procs {
			fetched += p.FetchBytes
		}
		perRound := float64(fetched) / float64(max(1, len(r.Procs)*len(r.Rounds))) / 1e6
		overBase := "-" // no baseline in this command
		if base != nil {
			overBase = fmt.Sprintf("%.2f", (m.Period - base.steady().Train).Seconds())
		}
		s := r.Summary()
		fmt.Fprintf(w, "%5d  %7.2f  %10.2f  %8.2f  %7.2f  %6.2f  %8.2f  %19s  %10.1f  %8.2f  %5.1f  %21.1f  %v\n",
			r.Nodes, m.Train.Seconds(), m.Overhead.Seconds(), m.Checks.Seconds(), m.Build.Seconds(), m.Fuse.Seconds(), m.Period.Seconds(),
			overBase, float64(s.RSSMax)/1e6, ratio(s.RSSMax, r.BodyBytes),
			s.CPU.Seconds(), perRound, r.Agreed)
	}
}

// steady returns the median of each round figure over the rounds after the
// first (or round 1 alone).
func (r *Report) steady() Round {
	rs := r.Rounds
	if len(rs) > 1 {
		rs = rs[1:]
	}
	med := func(f func(Round) time.Duration) time.Duration {
		var v []time.Duration
		for _, x := range rs {
			v = append(v, f(x))
		}
		if len(v) == 0 {
			return 0
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return Round{Train: med(func(x Round) time.Duration { return x.Train }),
		Overhead: med(func(x Round) time.Duration { return x.Overhead }),
		Build:    med(func(x Round) time.Duration { return x.Build }),
		Checks:   med(func(x Round) time.Duration { return x.Checks }),
		Fuse:     med(func(x Round) time.Duration { return x.Fuse }),
		Period:   med(func(x Round) time.Duration { return x.Period })}
}
