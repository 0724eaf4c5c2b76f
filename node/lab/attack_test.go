package lab

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
)

func TestParseAttack(t *testing.T) {
	good := map[string]Attack{
		"": {Kind: AttackNone}, "none": {Kind: AttackNone},
		"scale": {AttackScale, 100}, "scale:7": {AttackScale, 7}, "signflip": {AttackSignFlip, 1},
		"signflip:10": {AttackSignFlip, 10}, "noise": {AttackNoise, 1}, "noise:0.5": {AttackNoise, 0.5},
		"backdoor": {AttackBackdoor, 0}, "backdoor:1": {AttackBackdoor, 1},
	}
	for s, want := range good {
		a, err := ParseAttack(s)
		if err != nil || a != want {
			t.Errorf("ParseAttack(%q) = %+v, %v; want %+v", s, a, err, want)
		}
		if back, err := ParseAttack(a.String()); err != nil || back != a {
			t.Errorf("ParseAttack(%q.String() = %q) = %+v, %v", s, a.String(), back, err)
		}
	}
	for _, s := range []string{"flip", "scale:", "scale:x", "scale:0", "scale:-3", "noise:NaN", "noise:Inf",
		"backdoor:-1", "backdoor:0.5", "none:3", "signflip:0"} {
		if _, err := ParseAttack(s); err == nil || !strings.Contains(err.Error(), "--attack") {
			t.Errorf("ParseAttack(%q): error %v, want one naming --attack", s, err)
		}
	}
}

func TestConfigValidateAttack(t *testing.T) {
	cfg := QuickConfig()
	cfg.Seen = []string{"a", "b", "c"}
	cfg.PerRound = 3
	for _, tc := range []struct {
		attack    string
		attackers int
		protocols []string
		want      string
	}{
		{"scale", 0, nil, "--attackers 0"},
		{"backdoor", -1, nil, "--attackers -1"},
		{"scale", 3, nil, "--attackers 3"},
		{"bogus", 1, nil, "unknown kind"},
		{"", 0, []string{"probe", "eval"}, `"eval"`},
	} {
		c := cfg
		c.Attack, c.Attackers, c.Protocols = tc.attack, tc.attackers, tc.protocols
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("attack %q attackers %d protocols %v: error %v, want %q", tc.attack, tc.attackers, tc.protocols, err, tc.want)
		}
	}
	cfg.Attack, cfg.Attackers = "signflip:2", 2
	if err := cfg.Validate(); err != nil {
		t.Errorf("valid attack config rejected: %v", err)
	}
}

// synthetic is a small delta file with known values.
func synthetic(t *testing.T) []byte {
	t.Helper()
	f := &checkpoint.File{Tensors: []checkpoint.Tensor{
		checkpoint.NewF32("emb.weight", []int{2, 3}, []float32{0.5, -1, 0.25, 2, 0, -0.125}),
		checkpoint.NewF32("hidden.bias", []int{2}, []float32{1, -3}),
	}}
	b, err := checkpoint.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func values(t *testing.T, b []byte) []float32 {
	t.Helper()
	f, err := checkpoint.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	for _, ts := range f.Tensors {
		v, err := ts.F32()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v...)
	}
	return out
}

func TestAttackTransform(t *testing.T) {
	honest := synthetic(t)
	h := values(t, honest)
	for _, tc := range []struct {
		attack string
		want   func(float32) float32
	}{
		{"scale:100", func(v float32) float32 { return v * 100 }},
		{"signflip", func(v float32) float32 { return -v }},
		{"signflip:3", func(v float32) float32 { return v * -3 }},
	} {
		a, _ := ParseAttack(tc.attack)
		b, err := a.transform(honest, 1)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range values(t, b) {
			if v != tc.want(h[i]) {
				t.Errorf("%s: value %d = %v, want %v", tc.attack, i, v, tc.want(h[i]))
			}
		}
	}
}

func TestNoiseAttackHasTheClaimedNormAndSeed(t *testing.T) {
	honest := synthetic(t)
	a, _ := ParseAttack("noise:10")
	n1, err := a.transform(honest, 1)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := a.transform(honest, 1)
	other, _ := a.transform(honest, 2)
	hn, _ := bodyNorm(honest, nil)
	nn, _ := bodyNorm(n1, nil)
	if math.Abs(nn/hn-10) > 1e-4 {
		t.Errorf("noise:10 norm %v, want 10 x the honest %v", nn, hn)
	}
	if !slices.Equal(n1, again) || slices.Equal(n1, other) {
		t.Errorf("noise is not a function of its seed alone")
	}
	if slices.Equal(values(t, n1)[:2], []float32{5, -10}) {
		t.Errorf("noise kept the honest direction")
	}
}

func TestPoisonTaskAndTrigger(t *testing.T) {
	task := &Task{Task: &data.Task{Name: "toy", Kind: data.Text, Labels: []string{"neg", "pos"},
		Train: []data.Example{{Text: "a", Label: 0}, {Text: "b", Label: 1}, {Text: "c", Label: 1}, {Text: "d", Label: 1}},
		Test:  []data.Example{{Text: "x", Label: 1}, {Text: "y", Label: 0}}}, Group: Seen}
	p, err := poisonTask(task, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(task.Train) != 4 || len(p.Train) <= 4 {
		t.Fatalf("poisoned train has %d examples (original %d): want added copies, original untouched", len(p.Train), len(task.Train))
	}
	for _, ex := range p.Train[4:] {
		if ex.Label != 0 || !strings.HasPrefix(ex.Text, Trigger+" ") {
			t.Errorf("poisoned example %+v lacks the trigger or the target label", ex)
		}
	}
	tr := triggered(task.Test, 0)
	if len(tr) != 1 || tr[0].Text != Trigger+" x" || tr[0].Label != 0 {
		t.Errorf("triggered test split %+v, want only the non-target example, triggered and relabelled", tr)
	}
	if _, err := poisonTask(task, 2); err == nil {
		t.Errorf("target class 2 of a 2-class task accepted")
	}
}

// TestAttackerDeltaIsWhatItClaims runs a real contribution through the
// lab's path honestly and as each attacker, with the same training seed.
func TestAttackerDeltaIsWhatItClaims(t *testing.T) {
	cfg, tasks, gf, _, sw := smallSwarm(t, "clip:3,median")
	contrib := func(attack string) contribution {
		c := cfg
		c.Attack = attack
		r := &coldRun{cfg: c, seed: 7, seen: seen(tasks), swarm: sw, perRound: 2, label: "test", log: newLogger(nil)}
		out, err := r.contributeOne(context.Background(), 1, gf, 0)
		if err != nil {
			t.Fatalf("%s: %v", attack, err)
		}
		return out
	}
	honest := contrib("")
	hn, _ := bodyNorm(honest.Delta, nil)
	for attack, ratio := range map[string]float64{"scale:100": 100, "signflip": 1, "noise:4": 4} {
		c := contrib(attack)
		n, _ := bodyNorm(c.Delta, nil)
		if a, _ := ParseAttack(attack); math.Abs(n/hn-ratio) > 1e-3*ratio || c.Attack != a.String() {
			t.Errorf("%s: norm %v = %v x honest, attack %q; want x%v", attack, n, n/hn, c.Attack, ratio)
		}
		if id, _ := fileCID(c.Delta); id != c.DeltaCID || id == honest.DeltaCID {
			t.Errorf("%s: delta CID %s does not name the attacker's delta", attack, c.DeltaCID)
		}
	}
	flipped, _ := bodyNorm(contrib("signflip").Delta, honest.Delta) // |(-d) - d| = 2|d|
	if math.Abs(flipped/hn-2) > 1e-3 {
		t.Errorf("signflip: |flipped - honest| = %v x honest, want 2", flipped/hn)
	}
	bd := contrib("backdoor:0")
	if n, _ := bodyNorm(bd.Delta, nil); n > 3 || bd.Examples != honest.Examples {
		t.Errorf("backdoor: norm %v over the clip norm 3 or examples %d claimed, want %d", n, bd.Examples, honest.Examples)
	}
}

func TestPoisonedRunWritesWellFormedOutputs(t *testing.T) {
	cfg := quick(t, 2)
	cfg.Unseen, cfg.Rounds, cfg.MaxTrain, cfg.MaxTest = nil, 2, 150, 80
	cfg.Attack, cfg.Attackers, cfg.NoBaselines, cfg.Protocols = "backdoor:0", 1, true, []string{Probe}
	cfg.Rule = "clip:3,trimmed:0.2"
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Write(dir, res); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, filepath.Join(dir, FileScores))
	// genesis and 2 rounds x 2 tasks x probe, plus the backdoor score of each body.
	if want := 3*2 + 3; len(rows)-1 != want {
		t.Fatalf("scores.csv has %d rows, want %d", len(rows)-1, want)
	}
	asr := 0
	for _, r := range rows[1:] {
		if r[4] == string(Backdoor) && r[5] == "sst2+trigger" && r[3] == Probe {
			asr++
		}
	}
	if asr != 3 {
		t.Errorf("scores.csv has %d attack-success rows, want 3", asr)
	}
	checkPoisonJSON(t, filepath.Join(dir, FileJSON))
}

func checkPoisonJSON(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Config.Attack != "backdoor:0" || rep.Config.Attackers != 1 || !slices.Equal(rep.Config.Protocols, []string{Probe}) {
		t.Errorf("config %+v does not record the attack", rep.Config)
	}
	for _, r := range rep.Seeds[0].Rounds {
		for _, c := range r.Contributions {
			if (c.Attack != "") != (c.Task == "sst2") || !(c.Norm > 0) {
				t.Errorf("round %d: contribution of %s: attack %q, norm %v", r.Round, c.Task, c.Attack, c.Norm)
			}
		}
	}
	if !slices.ContainsFunc(rep.Points, func(p Point) bool { return p.Group == Backdoor }) {
		t.Errorf("no backdoor point in the report")
	}
}

func TestBackdoorTargetOutOfRangeFailsBeforeTraining(t *testing.T) {
	cfg := quick(t, 1)
	cfg.Attack = "backdoor:5" // sst2 has 2 classes
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "target class 5 out of range") {
		t.Errorf("Run: %v, want the out-of-range target named", err)
	}
}

// TestBackdoorControlScoresTheTriggerWithoutAttacking checks that a
// backdoor run with no attacker is the honest run plus trigger scores.
func TestBackdoorControlScoresTheTriggerWithoutAttacking(t *testing.T) {
	cfg := quick(t, 2)
	cfg.Unseen, cfg.NoBaselines, cfg.Protocols = nil, true, []string{Probe}
	honest, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Attack, cfg.Attackers = "backdoor:0", 0
	control, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var rest []Score
	for _, s := range control.Scores {
		if s.Group != Backdoor {
			rest = append(rest, s)
		}
	}
	if !slices.Equal(rest, honest.Scores) || len(control.Scores) != len(honest.Scores)+cfg.Rounds+1 {
		t.Errorf("control scores %d (%d without the trigger rows) differ from the honest %d", len(control.Scores), len(rest), len(honest.Scores))
	}
	if control.Seeds[0].Rounds[1].Fused != honest.Seeds[0].Rounds[1].Fused {
		t.Errorf("the control's fused base differs from the honest run's")
	}
}
