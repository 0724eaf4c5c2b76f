package lab

import (
	"fmt"
	"math"
	"slices"
)

// Verdicts of a finding.
const (
	Holds     = "holds"
	Partly    = "partly holds"
	NotHolds  = "does not hold"
	NotTested = "not tested" // the run lacks the scores (e.g. no unseen tasks)
)

// Finding is one of the paper's claims tested on this run's scores.
type Finding struct {
	ID       int      `json:"id"`
	Claim    string   `json:"claim"`
	Verdict  string   `json:"verdict"`
	Evidence []string `json:"evidence"` // accuracy in points; mean ± sd over seeds of paired differences
}

// Findings tests the paper's five findings on scores from a run of rounds
// rounds with the given sweep counts.
func Findings(scores []Score, rounds int, sweep []int) []Finding {
	ix := newIndex(scores)
	out := []Finding{ix.finding1(rounds), ix.finding2(rounds), ix.finding3(rounds), ix.finding4(rounds)}
	if len(sweep) > 1 {
		out = append(out, ix.finding5(rounds, sweep))
	}
	return out
}

var protocols = []string{Finetune, Probe}

// diff is the per-seed paired difference of group means a - b, over seeds.
func (ix *index) diff(a, b key, g Group) Cell {
	var d []float64
	for _, seed := range ix.seeds {
		x, okx := ix.seedMean(a, g, seed)
		y, oky := ix.seedMean(b, g, seed)
		if okx && oky {
			d = append(d, x-y)
		}
	}
	return cellOf(d)
}

func (ix *index) seedMean(k key, g Group, seed int) (float64, bool) {
	var sum float64
	n := 0
	for _, s := range ix.by[k] {
		if s.Seed == seed && s.Group == g {
			sum, n = sum+s.Accuracy, n+1
		}
	}
	return sum / float64(max(n, 1)), n > 0
}

func pts(c Cell) string {
	return fmt.Sprintf("%+.2f ± %.2f", 100*c.Mean, 100*c.SD)
}

// tstat is the paired t statistic of c against floor: (mean - floor) over
// the standard error; ±Inf when every seed agrees exactly, 0 for one seed.
func tstat(c Cell, floor float64) float64 {
	if c.N < 2 {
		return 0
	}
	if c.SD == 0 {
		return math.Copysign(math.Inf(1), c.Mean-floor)
	}
	return (c.Mean - floor) / (c.SD / math.Sqrt(float64(c.N)))
}

// tText shows the t statistic of c against 0 ("t n/a" with one seed).
func tText(c Cell) string {
	if c.N < 2 {
		return "t n/a"
	}
	return fmt.Sprintf("t = %.1f", tstat(c, 0))
}

// supports says whether a paired difference clearly exceeds floor: its
// mean does, and with two or more seeds its t statistic is at least 2
// (with three seeds that is roughly a one-sided 90% level).
func supports(c Cell, floor float64) bool {
	if c.N < 2 {
		return c.Mean > floor
	}
	return tstat(c, floor) >= 2
}

func verdict(ok, all int) string {
	switch {
	case all == 0:
		return NotTested
	case ok == all:
		return Holds
	case ok == 0:
		return NotHolds
	}
	return Partly
}

// compare states a - b for every protocol and group and counts the cells
// whose difference clearly exceeds floor (see supports).
func (ix *index) compare(a, b key, groups []Group, floor float64) (lines []string, ok, all int) {
	for _, p := range protocols {
		a.protocol, b.protocol = p, p
		for _, g := range groups {
			d := ix.diff(a, b, g)
			if d.N == 0 {
				continue
			}
			all++
			if supports(d, floor) {
				ok++
			}
			lines = append(lines, fmt.Sprintf("%s, %s tasks: %s points (%s, %d seeds)", p, g, pts(d), tText(d), d.N))
		}
	}
	return lines, ok, all
}

func (ix *index) finding1(rounds int) Finding {
	f := Finding{ID: 1, Claim: "the ColD Fusion body beats the genesis body on seen and unseen tasks, in both protocols"}
	lines, ok, all := ix.compare(key{ModelColD, rounds, ""}, key{ModelGenesis, 0, ""}, []Group{Seen, Unseen}, 0)
	f.Evidence, f.Verdict = prefix("ColD (round "+fmt.Sprint(rounds)+") − genesis", lines), verdict(ok, all)
	return f
}

func (ix *index) finding2(rounds int) Finding {
	f := Finding{ID: 2, Claim: "on seen tasks ColD Fusion comes within 1 point of multitask training (paper: +2.33 vs +1.62 over RoBERTa-base)"}
	lines, ok, all := ix.compare(key{ModelColD, rounds, ""}, key{ModelMultitask, 0, ""}, []Group{Seen}, -0.01)
	gain, _, _ := ix.compare(key{ModelMultitask, 0, ""}, key{ModelGenesis, 0, ""}, []Group{Seen}, 0)
	f.Evidence = append(prefix("ColD − multitask", lines), prefix("multitask − genesis", gain)...)
	f.Verdict = verdict(ok, all)
	return f
}

func (ix *index) finding3(rounds int) Finding {
	f := Finding{ID: 3, Claim: "iterating beats fusing once (paper: +2.33 vs +0.92)"}
	lines, ok, all := ix.compare(key{ModelColD, rounds, ""}, key{ModelOneRound, 1, ""}, []Group{Seen, Unseen}, 0)
	gain, _, _ := ix.compare(key{ModelOneRound, 1, ""}, key{ModelGenesis, 0, ""}, []Group{Seen, Unseen}, 0)
	f.Evidence = append(prefix("ColD − fuse-once", lines), prefix("fuse-once − genesis", gain)...)
	f.Verdict = verdict(ok, all)
	return f
}

func prefix(p string, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = p + ", " + l
	}
	return out
}

// curve is the seed-mean group accuracy of model at rounds 0..rounds, with
// the genesis body as round 0; NaN where a round has no score.
func (ix *index) curve(model, protocol string, g Group, rounds int) []float64 {
	c := make([]float64, rounds+1)
	for r := range c {
		k := key{model, r, protocol}
		if r == 0 {
			k.model = ModelGenesis
		}
		acc, _ := ix.seedMeans(k, g)
		c[r] = cellOf(acc).Mean
		if len(acc) == 0 {
			c[r] = math.NaN()
		}
	}
	return c
}

// shape describes a curve: total gain, the first round reaching 90% of the
// best gain, and the gain of the second half of the rounds (from the first
// evaluated round at or after the middle).
type shape struct {
	gain, late float64
	r90        int
}

func shapeOf(c []float64) shape {
	r := len(c) - 1
	best, mid := c[0], math.NaN()
	for i, v := range c {
		if math.IsNaN(v) {
			continue // a round that was not evaluated
		}
		best = max(best, v)
		if i >= (r+1)/2 && math.IsNaN(mid) {
			mid = v
		}
	}
	s := shape{gain: c[r] - c[0], late: c[r] - mid, r90: r}
	for i, v := range c {
		if v-c[0] >= 0.9*(best-c[0]) {
			s.r90 = i
			break
		}
	}
	return s
}

// plateaus says a curve gained and its second half added at most a quarter
// of the gain.
func plateaus(s shape) bool { return s.gain > 0 && s.late <= 0.25*s.gain }

// finding4 counts two claims per protocol: both curves rise and plateau,
// and the unseen curve reaches 90% of its best gain in fewer rounds.
func (ix *index) finding4(rounds int) Finding {
	f := Finding{ID: 4, Claim: "accuracy rises over rounds then plateaus; unseen gains plateau earlier (about 10 iterations in the paper)"}
	ok, all := 0, 0
	for _, p := range protocols {
		s, u := shapeOf(ix.curve(ModelColD, p, Seen, rounds)), shapeOf(ix.curve(ModelColD, p, Unseen, rounds))
		if math.IsNaN(s.gain) || math.IsNaN(u.gain) {
			continue
		}
		all += 2
		if plateaus(s) && plateaus(u) {
			ok++
		}
		if u.r90 < s.r90 {
			ok++
		}
		f.Evidence = append(f.Evidence,
			fmt.Sprintf("%s: seen gain %+.2f, 90%% of best gain by round %d, second-half gain %+.2f; unseen gain %+.2f, 90%% by round %d, second-half gain %+.2f",
				p, 100*s.gain, s.r90, 100*s.late, 100*u.gain, u.r90, 100*u.late))
	}
	f.Verdict = verdict(ok, all)
	return f
}

// unsteadiness is, per seed, the mean drop per round of the group-mean
// probe accuracy over rounds 1..rounds (a rise counts 0), so a curve that
// only rises scores 0 whatever its slope.
func (ix *index) unsteadiness(model string, g Group, rounds int) Cell {
	var v []float64
	for _, seed := range ix.seeds {
		var sum float64
		n := 0
		for r := 1; r <= rounds; r++ {
			prev := key{model, r - 1, Probe}
			if r == 1 {
				prev = key{ModelGenesis, 0, Probe}
			}
			a, oka := ix.seedMean(key{model, r, Probe}, g, seed)
			b, okb := ix.seedMean(prev, g, seed)
			if oka && okb {
				sum, n = sum+max(b-a, 0), n+1
			}
		}
		if n > 0 {
			v = append(v, sum/float64(n))
		}
	}
	return cellOf(v)
}

func (ix *index) finding5(rounds int, sweep []int) Finding {
	f := Finding{ID: 5, Claim: "with the data per round fixed, more contributors per round cost little (within 1 point) and steady the curve (fewer drops; probe protocol)"}
	lo, hi := slices.Min(sweep), slices.Max(sweep)
	ok, all := 0, 0
	for _, g := range []Group{Seen, Unseen} {
		cost := ix.diff(key{SweepModel(hi), rounds, Probe}, key{SweepModel(lo), rounds, Probe}, g)
		ul, uh := ix.unsteadiness(SweepModel(lo), g, rounds), ix.unsteadiness(SweepModel(hi), g, rounds)
		if cost.N == 0 {
			continue
		}
		all += 2
		if supports(cost, -0.01) {
			ok++
		}
		if uh.Mean < ul.Mean {
			ok++
		}
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s tasks: final accuracy, %d − %d contributors: %s points (%s); mean drop per round %.2f ± %.2f (%d) vs %.2f ± %.2f (%d) points",
			g, hi, lo, pts(cost), tText(cost), 100*uh.Mean, 100*uh.SD, hi, 100*ul.Mean, 100*ul.SD, lo))
	}
	f.Verdict = verdict(ok, all)
	return f
}
