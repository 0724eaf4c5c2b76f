package fusion

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// One delta blown up x100 moves the mean far away but the robust rules
// stay within the honest deltas' spread.
func TestOutlierBounded(t *testing.T) {
	const n, dim = 7, 64
	rng := rand.New(rand.NewPCG(3, 3))
	base := open(t, vec("body.w", make([]float32, dim)))
	var ins []Input
	lo, hi := make([]float32, dim), make([]float32, dim)
	for i := range dim {
		lo[i], hi[i] = math.MaxFloat32, -math.MaxFloat32
	}
	for k := range n {
		v := make([]float32, dim)
		for i := range v {
			v[i] = 1 + 0.1*float32(rng.NormFloat64())
			if k == 0 {
				v[i] *= 100 // the outlier
				continue
			}
			lo[i], hi[i] = min(lo[i], v[i]), max(hi[i], v[i])
		}
		ins = append(ins, Input{ID: fmt.Sprintf("d%d", k), Delta: open(t, vec("body.w", v))})
	}
	within := func(rule string) (worst float64) {
		got := decoded(t, fuseBytes(t, base, ins, mustRule(t, rule), 1))["body.w"]
		for i, x := range got {
			worst = max(worst, float64(x-hi[i]), float64(lo[i]-x))
		}
		return worst
	}
	if w := within("mean"); w < 10 {
		t.Fatalf("mean strays only %v outside the honest range; the outlier should dominate", w)
	}
	for _, rule := range []string{"median", "trimmed:0.2", "clip:100,median"} {
		if w := within(rule); w > 0 {
			t.Errorf("%s: %v outside the honest deltas' range", rule, w)
		}
	}
	// Clipping every delta to norm 10 (honest norms are ~8) bounds the
	// outlier's pull on the mean to 10/7 in norm.
	got := decoded(t, fuseBytes(t, base, ins, mustRule(t, "clip:10,mean"), 1))["body.w"]
	var sq float64
	for _, x := range got {
		sq += float64(x) * float64(x)
	}
	if norm := math.Sqrt(sq); norm > 10 {
		t.Errorf("clip:10,mean result has norm %v, want <= 10", norm)
	}
}

// Signed zeros are ordered -0 < +0, so the median of {-0, +0, +0} and of
// {+0, +0, -0} is the same +0 bit pattern.
func TestSignedZeroOrder(t *testing.T) {
	negz := float32(math.Copysign(0, -1))
	base := open(t, vec("body.w", []float32{negz}))
	mk := func(v float32) *checkpoint.Reader { return open(t, vec("body.w", []float32{v})) }
	a := fuseBytes(t, base, []Input{{ID: "a", Delta: mk(negz)}, {ID: "b", Delta: mk(negz)}, {ID: "c", Delta: mk(0)}}, mustRule(t, "median"), 1)
	b := fuseBytes(t, base, []Input{{ID: "a", Delta: mk(0)}, {ID: "b", Delta: mk(negz)}, {ID: "c", Delta: mk(negz)}}, mustRule(t, "median"), 1)
	got := decoded(t, a)["body.w"][0]
	if !math.Signbit(float64(got)) || string(a) != string(b) {
		t.Errorf("median of {-0,-0,+0} over base -0: %v (sign %v), orders agree: %v", got, math.Signbit(float64(got)), string(a) == string(b))
	}
}
