package fusion

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The vector kernels (SSE on amd64) give the same bits as plain Go loops
// written from the definition, on lengths around the vector widths and on
// awkward values: signed zeros, subnormals, huge values, infinities.
func TestVectorMatchesPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1e-39, 3e38, -3e38,
		float32(math.Inf(1)), float32(math.Inf(-1)), 1, -1}
	gen := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			if rng.IntN(4) == 0 {
				v[i] = special[rng.IntN(len(special))]
			} else {
				v[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(20)-10)))
			}
		}
		return v
	}
	for n := range 40 {
		a, b, base := gen(n), gen(n+3), gen(n+1)
		k := float32(rng.Float64()) + 0.1
		check := func(name string, got, want []float32) {
			t.Helper()
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s n=%d [%d]: %v, want %v", name, n, i, got[i], want[i])
				}
			}
		}
		got, want := slices.Clone(a), slices.Clone(a)
		addTo(got, b)
		for i := range want {
			want[i] = want[i] + b[i]
		}
		check("addTo", got, want)
		got, want = slices.Clone(a), slices.Clone(a)
		addScaledTo(got, b, k)
		for i := range want {
			want[i] = want[i] + float32(k*b[i])
		}
		check("addScaledTo", got, want)
		scaleTo(got, b, k)
		for i := range want {
			want[i] = float32(k * b[i])
		}
		check("scaleTo", got, want)
		for _, div := range []bool{false, true} {
			got, want = make([]float32, n), make([]float32, n)
			var bad uint32
			wantBad := false
			if div {
				bad = divAddTo(got, base, a, k)
			} else {
				bad = mulAddTo(got, base, a, k)
			}
			for i := range want {
				if div {
					want[i] = base[i] + a[i]/k
				} else {
					want[i] = base[i] + float32(a[i]*k)
				}
				f := float64(want[i])
				wantBad = wantBad || math.IsInf(f, 0) || math.IsNaN(f)
			}
			check("mul/divAddTo", got, want)
			if (bad&signBit != 0) != wantBad {
				t.Fatalf("n=%d div=%v: non-finite flag %v, want %v", n, div, bad&signBit != 0, wantBad)
			}
		}
	}
}
