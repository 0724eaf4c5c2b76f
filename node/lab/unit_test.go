package lab

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/model"
	"github.com/ipfs/go-cid"
)

// TestRoundIsWhatTheSwarmRecords closes one round by hand and checks what a
// peer would check: the record decodes, names the base and fused files by
// their CIDs, every contribution is signed and names its delta, and the
// fused body is the base plus the mean of the deltas.
func TestRoundIsWhatTheSwarmRecords(t *testing.T) {
	cfg, tasks, gf, genesis, sw := smallSwarm(t, "mean")
	var cs []contribution
	for i, task := range seen(tasks) {
		opt := cfg.Contrib
		opt.Seed = uint64(i)
		c, err := finetuneDelta(context.Background(), gf, task, opt)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	fused, round, rc, err := sw.close(1, sw.id, genesis, cs)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := wire.DecodeRecord(sw.blocks[rc])
	if err != nil {
		t.Fatal(err)
	}
	fc, _ := fileCID(fused)
	if rec.Base != sw.genesis.Weights || rec.Fused != fc || rec.Parent != sw.id || round.Fused != fc.String() {
		t.Errorf("record %+v does not chain genesis %s to fused %s", rec, sw.genesis.Weights, fc)
	}
	checkContributions(t, sw, rec.Contributions, cs)
	checkMean(t, gf, fused, cs)
}

func checkContributions(t *testing.T, sw *swarm, ids []cid.Cid, cs []contribution) {
	t.Helper()
	if len(ids) != len(cs) {
		t.Fatalf("record lists %d contributions, want %d", len(ids), len(cs))
	}
	for _, id := range ids {
		c, err := wire.DecodeContribution(sw.blocks[id])
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Verify(); err != nil {
			t.Errorf("contribution of %s: %v", c.Task, err)
		}
		k := slices.IndexFunc(cs, func(x contribution) bool { return x.Task == c.Task })
		if k < 0 || c.Delta != cs[k].DeltaCID || c.Examples != uint64(cs[k].Examples) || c.Base != sw.genesis.Weights {
			t.Errorf("contribution %+v does not match what was trained", c)
		}
		if got, _ := fileCID(cs[k].Delta); got != c.Delta {
			t.Errorf("delta of %s: CID %s, the file hashes to %s", c.Task, c.Delta, got)
		}
	}
}

// checkMean compares the fused body with base + (d_1 + ... + d_n)/n.
func checkMean(t *testing.T, base *checkpoint.File, fused []byte, cs []contribution) {
	t.Helper()
	ff, err := checkpoint.Decode(fused)
	if err != nil {
		t.Fatal(err)
	}
	var deltas []*checkpoint.File
	for _, c := range cs {
		d, err := checkpoint.Decode(c.Delta)
		if err != nil {
			t.Fatal(err)
		}
		deltas = append(deltas, d)
	}
	for _, bt := range base.Body().Tensors {
		b, _ := bt.F32()
		got := tensorOf(t, ff, bt.Name)
		for i := range b {
			var sum float32
			for _, d := range deltas {
				sum += tensorOf(t, d, bt.Name)[i]
			}
			want := b[i] + sum/float32(len(deltas))
			if math.Abs(float64(got[i]-want)) > 1e-6 {
				t.Fatalf("%s[%d] = %v, want base + mean delta = %v", bt.Name, i, got[i], want)
			}
		}
	}
}

func tensorOf(t *testing.T, f *checkpoint.File, name string) []float32 {
	t.Helper()
	tt, ok := f.Get(name)
	if !ok {
		t.Fatalf("no tensor %s", name)
	}
	v, err := tt.F32View()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Seen = []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("default config with 8 seen tasks: %v", err)
	}
	for _, tc := range []struct {
		name, want string
		edit       func(*Config)
	}{
		{"no seen", "no seen tasks", func(c *Config) { c.Seen = nil }},
		{"twice", "listed twice", func(c *Config) { c.Unseen = []string{"a"} }},
		{"per round", "--per-round 9", func(c *Config) { c.PerRound = 9 }},
		{"rule", "--rule", func(c *Config) { c.Rule = "average" }},
		{"sweep", "--sweep 12", func(c *Config) { c.Sweep = []int{2, 12} }},
		{"sweep twice", "lists 2 twice", func(c *Config) { c.Sweep = []int{2, 4, 2} }},
		{"epochs", "contributor options", func(c *Config) { c.Contrib.Epochs = 0 }},
		{"seeds", "--seeds 0", func(c *Config) { c.Seeds = 0 }},
	} {
		c := ok
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestMissingDatasetIsNamed(t *testing.T) {
	cfg := QuickConfig()
	cfg.Seen = []string{"testdata/no-such-task", "x"}
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "dataset testdata/no-such-task") {
		t.Fatalf("error %v, want one naming the dataset", err)
	}
}

func TestSample(t *testing.T) {
	counts := make([]int, 8)
	for round := 1; round <= 400; round++ {
		got := sample(3, round, 8, 4)
		if len(got) != 4 || !slices.IsSorted(got) || slices.Compact(slices.Clone(got))[3] != got[3] {
			t.Fatalf("round %d: %v is not 4 distinct sorted indexes", round, got)
		}
		if !slices.Equal(got, sample(3, round, 8, 4)) {
			t.Fatalf("round %d: sample is not deterministic", round)
		}
		for _, i := range got {
			counts[i]++
		}
	}
	for i, n := range counts {
		if n < 150 || n > 250 { // expected 200 each
			t.Errorf("task %d picked %d times in 400 rounds of 4 of 8", i, n)
		}
	}
}

// TestFindingsOnKnownScores feeds scores with known effects.
func TestFindingsOnKnownScores(t *testing.T) {
	var scores []Score
	add := func(seed int, model string, round int, acc float64) {
		for _, p := range protocols {
			for _, g := range []Group{Seen, Unseen} {
				scores = append(scores, Score{Seed: seed, Model: model, Round: round, Protocol: p, Group: g, Task: string(g), Accuracy: acc, N: 1})
			}
		}
	}
	for seed := 1; seed <= 3; seed++ {
		e := 0.001 * float64(seed)
		add(seed, ModelGenesis, 0, 0.5)
		for r := 1; r <= 10; r++ {
			add(seed, ModelColD, r, 0.6-0.1*math.Pow(0.5, float64(r))+e) // rises, then flat
		}
		add(seed, ModelMultitask, 0, 0.605)
		add(seed, ModelOneRound, 1, 0.55)
	}
	fs := Findings(scores, 10, nil)
	for i, want := range []string{Holds, Holds, Holds, Partly} {
		if fs[i].Verdict != want {
			t.Errorf("finding %d: %s, want %s (%v)", i+1, fs[i].Verdict, want, fs[i].Evidence)
		}
	}
	if !strings.Contains(fs[0].Evidence[0], "+10.") {
		t.Errorf("finding 1 evidence %q, want a gain of about +10 points", fs[0].Evidence[0])
	}
}

func TestFindingsWithoutUnseenTasksAreNotTested(t *testing.T) {
	var scores []Score
	for r := 0; r <= 3; r++ {
		model := ModelColD
		if r == 0 {
			model = ModelGenesis
		}
		for _, p := range protocols {
			scores = append(scores, Score{Seed: 1, Model: model, Round: r, Protocol: p, Group: Seen, Task: "a", Accuracy: 0.5 + 0.01*float64(r), N: 1})
		}
	}
	fs := Findings(scores, 3, nil)
	if fs[3].Verdict != NotTested || fs[1].Verdict != NotTested {
		t.Errorf("finding 4 %q and 2 %q without unseen tasks or multitask scores, want %q", fs[3].Verdict, fs[1].Verdict, NotTested)
	}
	if fs[0].Verdict != Holds || !strings.Contains(fs[0].Evidence[0], "t n/a") {
		t.Errorf("finding 1: %s %v, want holds on one seed with no t statistic", fs[0].Verdict, fs[0].Evidence)
	}
}

func TestShapeSkipsRoundsNotEvaluated(t *testing.T) {
	nan := math.NaN()
	s := shapeOf([]float64{0.5, nan, 0.6, nan, 0.7, nan, 0.7, nan, 0.7})
	if math.Abs(s.gain-0.2) > 1e-12 || s.r90 != 4 || math.Abs(s.late) > 1e-12 {
		t.Errorf("shape %+v, want gain 0.2, 90%% of the gain at round 4, no second-half gain", s)
	}
	if !plateaus(s) {
		t.Error("a curve flat from round 4 of 8 should count as a plateau")
	}
}

// smallSwarm sets up a one-seed quick lab run with a tiny model (2^10
// buckets) and a swarm fusing by rule: the config, the tasks, the genesis
// body and its bytes, and the swarm.
func smallSwarm(t *testing.T, rule string) (Config, []*Task, *checkpoint.File, []byte, *swarm) {
	t.Helper()
	cfg := quick(t, 1)
	cfg.MaxTrain, cfg.MaxDev, cfg.MaxTest = 120, 40, 40
	tasks, mc, err := loadTasks(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mc.Token.Buckets = 1 << 10
	gf, err := model.InitBody(mc, 7)
	if err != nil {
		t.Fatal(err)
	}
	genesis, err := checkpoint.Encode(gf)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := newSwarm("test", mc.Encode(), rule, genesis, tasks, 7)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, tasks, gf, genesis, sw
}
