package fusion

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestKernelProperty: on random lengths (around chunk boundaries), delta
// counts, multipliers and split counts, the kernel equals the spec formula
// bit for bit.
func TestKernelProperty(t *testing.T) {
	t.Run("default", testKernelProperty)
	if useVector || useQuantizeVector {
		v, q := useVector, useQuantizeVector
		useVector, useQuantizeVector = false, false
		defer func() { useVector, useQuantizeVector = v, q }()
		t.Run("portable", testKernelProperty)
	}
}

func testKernelProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	kinds := []Rule{{Kind: Mean}, {Kind: Weighted}, {Kind: Median}, {Kind: Trimmed, Trim: 0.2}, {Kind: Trimmed, Trim: 0.34}}
	lengths := []int{0, 1, 3, chunk - 1, chunk, chunk + 1, 3*chunk + 5, minSplit*2 + 1, minSplit*3 + 17}
	for trial := range 60 {
		rule := kinds[trial%len(kinds)]
		size := lengths[rng.IntN(len(lengths))]
		n := 1 + rng.IntN(12)
		if trial%10 == 9 {
			n = 13 + rng.IntN(30)
		}
		base, ds := randomVectors(rng, size, n)
		var coef []float32
		if rule.Kind == Weighted || rng.IntN(2) == 0 {
			coef = make([]float32, n)
			for i := range coef {
				coef[i] = float32(rng.Float64())
			}
		}
		j := job{rule: rule, out: make([]float32, size), base: base, ds: ds, coef: coef}
		if j.run(1 + rng.IntN(4)) {
			t.Fatalf("trial %d: finite inputs flagged as non-finite", trial)
		}
		want := specTensor(rule, base, ds, coef)
		for i := range want {
			if math.Float32bits(j.out[i]) != math.Float32bits(want[i]) {
				t.Fatalf("trial %d (%s, n=%d, len=%d, coef %v): [%d] = %v, spec %v",
					trial, rule, n, size, coef != nil, i, j.out[i], want[i])
			}
		}
	}
}

func randomVectors(rng *rand.Rand, size, n int) ([]float32, [][]float32) {
	gen := func(scale float64) []float32 {
		v := make([]float32, size)
		for i := range v {
			v[i] = float32(scale * rng.NormFloat64())
		}
		return v
	}
	ds := make([][]float32, n)
	for i := range ds {
		ds[i] = gen(math.Pow(10, float64(rng.IntN(7)-4)))
	}
	return gen(1), ds
}

// Non-finite inputs are flagged by every rule, even when a robust rule
// would otherwise discard the value.
func TestKernelFlagsNonFinite(t *testing.T) {
	for _, rule := range []Rule{{Kind: Mean}, {Kind: Weighted}, {Kind: Median}, {Kind: Trimmed, Trim: 0.4}} {
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
			base := []float32{1, 2, 3}
			ds := [][]float32{{0, 0, 0}, {0, bad, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}}
			j := job{rule: rule, out: make([]float32, 3), base: base, ds: ds}
			if rule.Kind == Weighted {
				j.coef = []float32{0.2, 0.2, 0.2, 0.2, 0.2}
			}
			if !j.run(1) {
				t.Errorf("%s did not flag %v", rule, bad)
			}
		}
	}
}

// The network sorts every 0-1 input for n up to 12 (so, by the 0-1
// principle, every input) and random inputs for larger n.
func TestNetworkSorts(t *testing.T) {
	apply := func(v []float32, net [][2]int) {
		for _, p := range net {
			v[p[0]], v[p[1]] = min(v[p[0]], v[p[1]]), max(v[p[0]], v[p[1]])
		}
	}
	for n := 1; n <= 12; n++ {
		net := network(n)
		for bits := range 1 << n {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(bits >> i & 1)
			}
			apply(v, net)
			if !slices.IsSorted(v) {
				t.Fatalf("n=%d: network leaves %v unsorted", n, v)
			}
		}
	}
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{13, 17, 31, 33, 64, 100} {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.IntN(20) - 10)
		}
		want := slices.Clone(v)
		slices.Sort(want)
		apply(v, network(n))
		if !slices.Equal(v, want) {
			t.Fatalf("n=%d: network gives %v", n, v)
		}
	}
}
