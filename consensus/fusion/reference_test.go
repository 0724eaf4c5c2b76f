package fusion

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// specTensor is the documented formula written the obvious way, one
// coordinate at a time with no chunks, groups or goroutines. The fast path
// must match it bit for bit. ds are in ID order; coef as fuser.coef.
func specTensor(rule Rule, base []float32, ds [][]float32, coef []float32) []float32 {
	out := make([]float32, len(base))
	n := len(ds)
	for x := range base {
		v := make([]float32, n)
		for i, d := range ds {
			v[i] = d[x]
			if coef != nil {
				v[i] = float32(coef[i] * d[x])
			}
		}
		switch rule.Kind {
		case Mean:
			out[x] = base[x] + specMean(v)
		case Weighted:
			a := v[0]
			for _, y := range v[1:] {
				a += y
			}
			out[x] = base[x] + a
		case Median:
			slices.SortFunc(v, compareTotal)
			out[x] = base[x] + median(v)
		case Trimmed:
			slices.SortFunc(v, compareTotal)
			k := int(math.Floor(rule.Trim * float64(n)))
			kept := v[k : n-k]
			s := kept[0]
			for _, y := range kept[1:] {
				s += y
			}
			out[x] = base[x] + s/float32(len(kept))
		}
	}
	return out
}

// specMean is the mean rules' fixed-point mean written with the standard
// library: each value times 2^36 rounded half to even (math.RoundToEven),
// summed as integers, divided by n*2^36 in float64, rounded to float32.
func specMean(v []float32) float32 {
	var sum int64
	for _, y := range v {
		sum += int64(math.RoundToEven(math.Ldexp(float64(y), SumShift)))
	}
	return float32(float64(sum) / math.Ldexp(float64(len(v)), SumShift))
}

// specCoef recomputes the per-delta multipliers from the documented
// definitions: norm from lane sums (element i in lane i mod 4), scale
// Clip/norm above the bound, weight examples/total.
func specCoef(rule Rule, body []string, ins []Input) []float32 {
	if rule.Kind != Weighted && rule.Clip == 0 {
		return nil
	}
	var total int64
	for _, in := range ins {
		total += in.Examples
	}
	coef := make([]float32, len(ins))
	for i, in := range ins {
		s := 1.0
		if rule.Clip > 0 {
			var sq float64
			for _, name := range body {
				var lanes [4]float64
				t, _ := in.Delta.Tensor(name)
				v, _ := t.F32()
				for k, x := range v {
					lanes[k%4] += float64(x) * float64(x)
				}
				sq += ((lanes[0] + lanes[1]) + lanes[2]) + lanes[3]
			}
			if norm := math.Sqrt(sq); norm > rule.Clip {
				s = rule.Clip / norm
			}
		}
		if rule.Kind == Weighted {
			s *= float64(in.Examples) / float64(total)
		}
		coef[i] = float32(s)
	}
	return coef
}

// float64Tensor is the mathematical rule in float64, for tolerance checks.
func float64Tensor(rule Rule, base []float32, ds [][]float32, coef []float32) []float64 {
	out := make([]float64, len(base))
	n := len(ds)
	for x := range base {
		v := make([]float64, n)
		for i, d := range ds {
			v[i] = float64(d[x])
			if coef != nil {
				v[i] *= float64(coef[i])
			}
		}
		slices.Sort(v)
		lo, hi := 0, n
		switch rule.Kind {
		case Median:
			lo, hi = (n-1)/2, n/2+1
		case Trimmed:
			k := rule.trimCount(n)
			lo, hi = k, n-k
		}
		var s float64
		for _, y := range v[lo:hi] {
			s += y
		}
		if rule.Kind != Weighted {
			s /= float64(hi - lo)
		}
		out[x] = float64(base[x]) + s
	}
	return out
}

func sortedInputs(ins []Input) []Input {
	out := slices.Clone(ins)
	slices.SortFunc(out, func(a, b Input) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func f32(t testing.TB, r *checkpoint.Reader, name string) []float32 {
	t.Helper()
	v, err := readF32(r, name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMatchesReferences: for 1 to 9 deltas and every rule, the fast path
// equals the spec formula bit for bit and the float64 rule within float32
// rounding.
func TestMatchesReferences(t *testing.T) {
	rules := []string{"mean", "weighted", "median", "trimmed:0.2", "trimmed:0.45",
		"clip:4,mean", "clip:4,weighted", "clip:3,median", "clip:5,trimmed:0.25"}
	body := []string{"body.a", "body.b", "body.b0", "body.big", "body.c"}
	for _, n := range []int{1, 2, 3, 4, 5, 8, 9} {
		fx := newFixture(t, uint64(100+n), n)
		ins := sortedInputs(fx.ins)
		for _, rs := range rules {
			rule := mustRule(t, rs)
			got := decoded(t, fuseBytes(t, fx.base, fx.ins, rule, 2))
			coef := specCoef(rule, body, ins)
			for _, name := range body {
				base := f32(t, fx.base, name)
				ds := make([][]float32, n)
				for i, in := range ins {
					ds[i] = f32(t, in.Delta, name)
				}
				compareSpec(t, rs, n, name, got[name], specTensor(rule, base, ds, coef))
				compareFloat64(t, rs, n, name, got[name], float64Tensor(rule, base, ds, coef))
			}
		}
	}
}

func compareSpec(t *testing.T, rule string, n int, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s, %d deltas, %s[%d] = %v, spec formula gives %v", rule, n, name, i, got[i], want[i])
		}
	}
}

func compareFloat64(t *testing.T, rule string, n int, name string, got []float32, want []float64) {
	t.Helper()
	for i, w := range want {
		// |base| ~ 1 and deltas ~ 0.01: a few float32 ulps of 1.
		if d := math.Abs(float64(got[i]) - w); d > 1e-6*math.Max(1, math.Abs(w)) {
			t.Fatalf("%s, %d deltas, %s[%d] = %v, float64 reference %v (off by %g)", rule, n, name, i, got[i], w, d)
		}
	}
}

// median of sorted values, one coordinate at a time, as the package doc
// defines it.
func median(v []float32) float32 {
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return float32((float64(v[n/2-1]) + float64(v[n/2])) * 0.5)
}

// compareTotal orders float32 values with -0 before +0 (NaN excluded).
func compareTotal(a, b float32) int {
	switch {
	case a < b || (a == b && math.Signbit(float64(a)) && !math.Signbit(float64(b))):
		return -1
	case b < a || (a == b && math.Signbit(float64(b)) && !math.Signbit(float64(a))):
		return 1
	}
	return 0
}
