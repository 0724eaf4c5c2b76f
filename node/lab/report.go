package lab

import (
	"math"
	"slices"
)

// Cell is a statistic over seeds: the mean and the sample standard
// deviation (0 with one seed) of per-seed values.
type Cell struct {
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
	N    int     `json:"n"`
}

func cellOf(v []float64) Cell {
	c := Cell{N: len(v)}
	if c.N == 0 {
		return c
	}
	for _, x := range v {
		c.Mean += x
	}
	c.Mean /= float64(c.N)
	if c.N > 1 {
		var ss float64
		for _, x := range v {
			ss += (x - c.Mean) * (x - c.Mean)
		}
		c.SD = math.Sqrt(ss / float64(c.N-1))
	}
	return c
}

// Point is a model's group mean (over the group's tasks) at one round.
type Point struct {
	Model    string `json:"model"`
	Round    int    `json:"round"`
	Protocol string `json:"protocol"`
	Group    Group  `json:"group"`
	Accuracy Cell   `json:"accuracy"`
	MacroF1  Cell   `json:"macro_f1"`
}

// TaskPoint is a model's score on one task, over seeds.
type TaskPoint struct {
	Model    string `json:"model"`
	Round    int    `json:"round"`
	Protocol string `json:"protocol"`
	Group    Group  `json:"group"`
	Task     string `json:"task"`
	Accuracy Cell   `json:"accuracy"`
	MacroF1  Cell   `json:"macro_f1"`
}

// key selects the scores of one model, round and protocol.
type key struct {
	model    string
	round    int
	protocol string
}

// index groups scores by key and seed for the summaries.
type index struct {
	seeds []int
	by    map[key][]Score
}

func newIndex(scores []Score) *index {
	ix := &index{by: map[key][]Score{}}
	for _, s := range scores {
		k := key{s.Model, s.Round, s.Protocol}
		ix.by[k] = append(ix.by[k], s)
		if !slices.Contains(ix.seeds, s.Seed) {
			ix.seeds = append(ix.seeds, s.Seed)
		}
	}
	slices.Sort(ix.seeds)
	return ix
}

// seedMeans returns, per seed, the mean accuracy and macro-F1 over the
// group's tasks (seeds without scores are left out).
func (ix *index) seedMeans(k key, g Group) (acc, f1 []float64) {
	for _, seed := range ix.seeds {
		var a, f float64
		n := 0
		for _, s := range ix.by[k] {
			if s.Seed == seed && s.Group == g {
				a, f, n = a+s.Accuracy, f+s.MacroF1, n+1
			}
		}
		if n > 0 {
			acc, f1 = append(acc, a/float64(n)), append(f1, f/float64(n))
		}
	}
	return acc, f1
}

func (ix *index) point(k key, g Group) (Point, bool) {
	acc, f1 := ix.seedMeans(k, g)
	if len(acc) == 0 {
		return Point{}, false
	}
	return Point{Model: k.model, Round: k.round, Protocol: k.protocol, Group: g, Accuracy: cellOf(acc), MacroF1: cellOf(f1)}, true
}

// Points summarises every model, round, protocol and group, sorted.
func Points(scores []Score) []Point {
	ix := newIndex(scores)
	var out []Point
	for _, k := range ix.keys() {
		for _, g := range []Group{Seen, Unseen, Backdoor} {
			if p, ok := ix.point(k, g); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

func (ix *index) keys() []key {
	var ks []key
	for k := range ix.by {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b key) int {
		if c := compareModel(a.model, b.model); c != 0 {
			return c
		}
		if a.round != b.round {
			return a.round - b.round
		}
		return compareString(a.protocol, b.protocol)
	})
	return ks
}

var modelOrder = []string{ModelGenesis, ModelColD, ModelOneRound, ModelMultitask, ModelSingle}

func compareModel(a, b string) int {
	ia, ib := slices.Index(modelOrder, a), slices.Index(modelOrder, b)
	if ia < 0 {
		ia = len(modelOrder)
	}
	if ib < 0 {
		ib = len(modelOrder)
	}
	if ia != ib {
		return ia - ib
	}
	return compareString(a, b)
}

func compareString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TaskPoints summarises every model on every task, over seeds.
func TaskPoints(scores []Score) []TaskPoint {
	ix := newIndex(scores)
	var out []TaskPoint
	for _, k := range ix.keys() {
		var tasks []string
		for _, s := range ix.by[k] {
			if !slices.Contains(tasks, s.Task) {
				tasks = append(tasks, s.Task)
			}
		}
		for _, t := range tasks {
			out = append(out, ix.taskPoint(k, t))
		}
	}
	return out
}

func (ix *index) taskPoint(k key, task string) TaskPoint {
	var acc, f1 []float64
	tp := TaskPoint{Model: k.model, Round: k.round, Protocol: k.protocol, Task: task}
	for _, s := range ix.by[k] {
		if s.Task == task {
			acc, f1, tp.Group = append(acc, s.Accuracy), append(f1, s.MacroF1), s.Group
		}
	}
	tp.Accuracy, tp.MacroF1 = cellOf(acc), cellOf(f1)
	return tp
}
