package optim

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// reference is AdamW in float64, PyTorch's formula.
func reference(w, g []float64, steps int, lr, wd float64) []float64 {
	b1, b2, eps := 0.9, 0.999, 1e-8
	m, v := make([]float64, len(w)), make([]float64, len(w))
	for t := 1; t <= steps; t++ {
		for i := range w {
			w[i] *= 1 - lr*wd
			m[i] = b1*m[i] + (1-b1)*g[i]
			v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
			den := math.Sqrt(v[i])/math.Sqrt(1-math.Pow(b2, float64(t))) + eps
			w[i] -= lr / (1 - math.Pow(b1, float64(t))) * m[i] / den
		}
	}
	return w
}

func TestDenseMatchesReference(t *testing.T) {
	a, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	w := []float32{0.5, -1, 2, 0}
	g := []float32{0.1, -0.3, 0.02, 1}
	for range 5 {
		a.Begin()
		a.Dense("w", w, g, 0.01)
	}
	want := reference([]float64{0.5, -1, 2, 0}, []float64{0.1, -0.3, 0.02, 1}, 5, 0.01, 0.01)
	for i := range w {
		if math.Abs(float64(w[i])-want[i]) > 1e-6 {
			t.Errorf("w[%d] = %v, want %v", i, w[i], want[i])
		}
	}
}

func TestSparseTouchesOnlyGivenRows(t *testing.T) {
	a, _ := New(DefaultConfig())
	w := []float32{1, 1, 2, 2, 3, 3} // 3 rows of 2
	a.Begin()
	a.Sparse("e", w, 2, []int32{2}, []float32{0.5, -0.5}, 0.1)
	if w[0] != 1 || w[1] != 1 || w[2] != 2 || w[3] != 2 {
		t.Errorf("untouched rows changed: %v", w)
	}
	// First Adam step moves by lr*sign(g) (up to eps).
	if math.Abs(float64(w[4])-2.9) > 1e-6 || math.Abs(float64(w[5])-3.1) > 1e-6 {
		t.Errorf("row 2 = %v, want [2.9 3.1]", w[4:])
	}
}

func TestLinearSchedule(t *testing.T) {
	s := Linear{Peak: 1, Warmup: 1, Total: 5}
	want := []float32{0.5, 1, 0.75, 0.5, 0.25, 0}
	for i, x := range want {
		if got := s.At(i); math.Abs(float64(got-x)) > 1e-7 {
			t.Errorf("At(%d) = %v, want %v", i, got, x)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	bad := DefaultConfig()
	bad.Beta1 = 1
	if _, err := New(bad); err == nil {
		t.Error("beta1 = 1 accepted")
	}
}

// The sparse update splits rows over goroutines; the split changes no bit,
// with float32 or bfloat16 moments.
func TestSparseSplitDoesNotChangeBits(t *testing.T) {
	for _, p := range []Precision{FP32, BF16, INT8} {
		t.Run(p.String(), func(t *testing.T) { testSparseSplit(t, p) })
	}
}

func testSparseSplit(t *testing.T, moments Precision) {
	const rows, dim = 4096, 32
	run := func(procs int) []float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		cfg := DefaultConfig()
		cfg.Moments = moments
		a, _ := New(cfg)
		w := make([]float32, rows*dim)
		var touched []int32
		var g []float32
		for r := 0; r < rows; r += 2 {
			touched = append(touched, int32(r))
			for j := 0; j < dim; j++ {
				g = append(g, float32((r*31+j*7)%13)/13-0.5)
			}
		}
		for range 3 {
			a.Begin()
			a.Sparse("e", w, dim, touched, g, 0.01)
		}
		return w
	}
	one, four := run(1), run(4)
	for i := range one {
		if math.Float32bits(one[i]) != math.Float32bits(four[i]) {
			t.Fatalf("element %d: %v with 1 goroutine, %v with 4", i, one[i], four[i])
		}
	}
}

// The float32 update gives the same bits with the vector loop as with the
// Go loop, for every length, with and without weight decay, over steps
// with gradients of every magnitude and some infinite or NaN.
func TestUpdateVectorMatchesGo(t *testing.T) {
	if !haveVector {
		t.Skip("no vector loop on this processor: update runs the Go loop only")
	}
	defer func() { useAdamVector = haveVector }()
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		n := rng.IntN(300)
		w0, g := make([]float32, n), make([]float32, n)
		for i := range w0 {
			w0[i] = float32(rng.NormFloat64())
		}
		run := func(vector bool) ([]float32, []float32, []float32) {
			useAdamVector = vector
			a, _ := New(DefaultConfig())
			w, m, v := slices.Clone(w0), make([]float32, n), make([]float32, n)
			grad := rand.New(rand.NewPCG(uint64(trial), 5))
			for step := range 4 {
				randomGrads(grad, g, -30, 10, step == 3 && trial%5 == 0, trial)
				a.Begin()
				a.update(w, m, v, g, 1e-3, []float32{1, 0.99999}[trial%2])
			}
			return w, m, v
		}
		w1, m1, v1 := run(true)
		w2, m2, v2 := run(false)
		for i := range n {
			if !sameBits(w1[i], w2[i]) || !sameBits(m1[i], m2[i]) || !sameBits(v1[i], v2[i]) {
				t.Fatalf("trial %d (n %d) value %d: vector w %v m %v v %v, Go w %v m %v v %v",
					trial, n, i, w1[i], m1[i], v1[i], w2[i], m2[i], v2[i])
			}
		}
	}
}

// The row-wise float32 update gives the same bits with the vector loop as
// row by row in Go, for row lengths that take the vector loop and some
// that do not.
func TestUpdateRowsVectorMatchesGo(t *testing.T) {
	if !haveVector {
		t.Skip("no vector loop on this processor: updateRows runs the Go loop only")
	}
	defer func() { useAdamVector = haveVector }()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dim := range []int{8, 64, 72, 5, 12} {
		const tableRows = 300
		w0 := make([]float32, tableRows*dim)
		for i := range w0 {
			w0[i] = float32(rng.NormFloat64())
		}
		run := func(vector bool) ([]float32, []float32, []float32) {
			useAdamVector = vector
			a, _ := New(DefaultConfig())
			w, m, v := slices.Clone(w0), make([]float32, len(w0)), make([]float32, len(w0))
			pick := rand.New(rand.NewPCG(uint64(dim), 7))
			for range 5 {
				rows, grad := randomRows(pick, tableRows, dim, 0, 0)
				a.Begin()
				a.updateRows(w, m, v, dim, rows, grad, 1e-2)
			}
			return w, m, v
		}
		w1, m1, v1 := run(true)
		w2, m2, v2 := run(false)
		for i := range w1 {
			if !sameBits(w1[i], w2[i]) || !sameBits(m1[i], m2[i]) || !sameBits(v1[i], v2[i]) {
				t.Fatalf("dim %d value %d: vector w %v m %v v %v, Go w %v m %v v %v", dim, i, w1[i], m1[i], v1[i], w2[i], m2[i], v2[i])
			}
		}
	}
}

// randomGrads fills g with normal values each times 10^e, e uniform in
// [lo, hi) (no scaling when lo == hi), and when poison sets one of them
// to -Inf (even trial) or NaN (odd trial).
func randomGrads(r *rand.Rand, g []float32, lo, hi int, poison bool, trial int) {
	for i := range g {
		x := r.NormFloat64()
		if hi > lo {
			x *= math.Pow(10, float64(r.IntN(hi-lo)+lo))
		}
		g[i] = float32(x)
	}
	if poison && len(g) > 0 {
		g[r.IntN(len(g))] = []float32{float32(math.Inf(-1)), float32(math.NaN())}[trial%2]
	}
}

// randomRows picks 1 to 64 distinct rows of a table of n rows and their
// gradients, dim values a row (randomGrads over [lo, hi)).
func randomRows(r *rand.Rand, n, dim, lo, hi int) ([]int32, []float32) {
	rows := make([]int32, 0, 64)
	for _, k := range r.Perm(n)[:1+r.IntN(64)] {
		rows = append(rows, int32(k))
	}
	grad := make([]float32, len(rows)*dim)
	randomGrads(r, grad, lo, hi, false, 0)
	return rows, grad
}
