package optim

import (
	"math"
	"runtime"
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
