package lab

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
)

func deltaOf(t *testing.T, v ...float32) contribution {
	t.Helper()
	b, err := checkpoint.Encode(&checkpoint.File{Tensors: []checkpoint.Tensor{checkpoint.NewF32("body.w", []int{len(v)}, v)}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := fileCID(b)
	if err != nil {
		t.Fatal(err)
	}
	return contribution{Task: "t", Delta: b, DeltaCID: id}
}

// Colluders send one shared delta, -F times the mean of their honest
// deltas; honest contributors are untouched.
func TestColludeSharesOneFlippedMean(t *testing.T) {
	cs := []contribution{deltaOf(t, 1, 2), deltaOf(t, 9, 9), deltaOf(t, 3, -4)}
	honest := cs[1]
	a, err := ParseAttack("collude:10")
	if err != nil || a != (Attack{AttackCollude, 10}) {
		t.Fatalf("ParseAttack(collude:10) = %+v, %v", a, err)
	}
	if d, _ := ParseAttack("collude"); d.Param != 10 {
		t.Errorf("collude default factor %v, want 10", d.Param)
	}
	if err := a.collude(cs, func(i int) bool { return i != 1 }); err != nil {
		t.Fatal(err)
	}
	want := []float32{-20, 10} // -10 x mean((1,2), (3,-4))
	for _, i := range []int{0, 2} {
		if got := values(t, cs[i].Delta); got[0] != want[0] || got[1] != want[1] || cs[i].Attack != "collude:10" {
			t.Errorf("attacker %d sends %v (%q), want %v", i, got, cs[i].Attack, want)
		}
	}
	if !bytes.Equal(cs[0].Delta, cs[2].Delta) || cs[0].DeltaCID != cs[2].DeltaCID {
		t.Errorf("the colluders' deltas differ")
	}
	if id, _ := fileCID(cs[0].Delta); id != cs[0].DeltaCID {
		t.Errorf("delta CID %s does not name the shared delta", cs[0].DeltaCID)
	}
	if !bytes.Equal(cs[1].Delta, honest.Delta) || cs[1].Attack != "" {
		t.Errorf("the honest contributor's delta was changed")
	}
	other, _ := ParseAttack("signflip:10")
	if err := other.collude(cs, func(int) bool { return true }); err != nil || !bytes.Equal(cs[1].Delta, honest.Delta) {
		t.Errorf("another attack kind changed the round: %v", err)
	}
}

// Through the lab's round path: both contributors collude, each finetunes
// honestly first (same seeds as the honest run), then both send -10 x the
// mean of the two honest deltas.
func TestColludingRoundThroughContribute(t *testing.T) {
	cfg, tasks, _, genesis, sw := smallSwarm(t, "clip:3,median")
	round := func(attack string, attackers int) []contribution {
		c := cfg
		c.Attack, c.Attackers = attack, attackers
		r := &coldRun{cfg: c, seed: 7, seen: seen(tasks), swarm: sw, perRound: 2, label: "test", log: newLogger(nil)}
		out, err := r.contribute(context.Background(), 1, genesis, []int{0, 1})
		if err != nil {
			t.Fatalf("%s: %v", attack, err)
		}
		return out
	}
	honest := round("", 0)
	bad := round("collude:10", 2)
	if !bytes.Equal(bad[0].Delta, bad[1].Delta) {
		t.Fatal("the two colluders sent different deltas")
	}
	h0, h1, got := values(t, honest[0].Delta), values(t, honest[1].Delta), values(t, bad[0].Delta)
	var hn float64
	for i := range got {
		want := float32(-10 * ((float64(h0[i]) + float64(h1[i])) / 2))
		if math.Abs(float64(got[i]-want)) > 1e-5*math.Max(1, math.Abs(float64(want))) {
			t.Fatalf("value %d = %v, want -10 x mean = %v", i, got[i], want)
		}
		hn += float64(h0[i]) * float64(h0[i])
	}
	if hn == 0 {
		t.Fatal("honest delta is zero: the test could not tell attack from honesty")
	}
}
