package optim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// Stochastic rounding is unbiased: the mean of many roundings of x is x,
// where rounding to nearest would always give the same neighbour.
func TestNarrowIsUnbiased(t *testing.T) {
	x := float32(1.00123) // between the bfloat16 neighbours 1 and 1.0078125
	var sum float64
	const n = 1 << 16
	state := uint64(7)
	for range n {
		state += 0x9e3779b97f4a7c15
		sum += float64(widen(narrow(x, uint32(mix(state)))))
	}
	if mean := sum / n; math.Abs(mean-float64(x)) > 2e-5 {
		t.Errorf("mean of %d roundings of %v is %v", n, x, mean)
	}
	for _, v := range []float32{0, 1, -2.5, float32(math.Inf(1))} {
		if got := widen(narrow(v, 0xffff)); got != v {
			t.Errorf("exact value %v rounded to %v", v, got)
		}
	}
	if nan := widen(narrow(float32(math.NaN()), 0)); !math.IsNaN(float64(nan)) {
		t.Errorf("NaN rounded to %v", nan)
	}
}

// With bfloat16 moments, a second moment decays over a thousand steps of
// zero gradient as it does in float32 (0.999^t), though each step's decay
// (0.1%) is below bfloat16's resolution (0.4-0.8%): rounding to nearest
// would leave it where it was.
func TestBF16SecondMomentDecays(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Moments, cfg.WeightDecay = BF16, 0
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4096
	w, g := make([]float32, n), make([]float32, n)
	for i := range g {
		g[i] = 1
	}
	a.Begin()
	a.Dense("w", w, g, 1e-3)
	clear(g)
	const steps = 1000
	for range steps {
		a.Begin()
		a.Dense("w", w, g, 1e-3)
	}
	var mean float64
	for _, h := range a.v16["w"] {
		mean += float64(widen(h)) / n
	}
	want := 0.001 * math.Pow(0.999, steps)
	if math.Abs(mean-want) > 0.02*want {
		t.Errorf("mean second moment %.6g after %d zero-gradient steps, want %.6g (float32 decay)", mean, steps, want)
	}
}

// bfloat16 moments track the float64 reference closely over many steps of
// varying gradients, and are reproducible bit for bit.
func TestBF16DenseTracksReference(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Moments = BF16
	const n, steps = 64, 300
	run := func() []float32 {
		a, _ := New(cfg)
		w := make([]float32, n)
		for i := range w {
			w[i] = float32(i%7) - 3
		}
		g := make([]float32, n)
		for s := range steps {
			for i := range g {
				g[i] = float32(math.Sin(float64(i*13+s*7))) * 0.1
			}
			a.Begin()
			a.Dense("w", w, g, 1e-3)
		}
		return w
	}
	ref := make([]float64, n)
	for i := range ref {
		ref[i] = float64(i%7) - 3
	}
	b1, b2 := 0.9, 0.999
	m, v := make([]float64, n), make([]float64, n)
	for s := range steps {
		for i := range ref {
			gi := float64(float32(math.Sin(float64(i*13+s*7))) * 0.1)
			ref[i] *= 1 - 1e-3*0.01
			m[i] = b1*m[i] + (1-b1)*gi
			v[i] = b2*v[i] + (1-b2)*gi*gi
			den := math.Sqrt(v[i])/math.Sqrt(1-math.Pow(b2, float64(s+1))) + 1e-8
			ref[i] -= 1e-3 / (1 - math.Pow(b1, float64(s+1))) * m[i] / den
		}
	}
	w, again := run(), run()
	for i := range w {
		if math.Float32bits(w[i]) != math.Float32bits(again[i]) {
			t.Fatalf("element %d: %v then %v in the same run", i, w[i], again[i])
		}
		// Each step moves a weight by about lr; the rounding noise of the
		// moments moves it by a few percent of that.
		if d := math.Abs(float64(w[i]) - ref[i]); d > 0.02*steps*1e-3 {
			t.Errorf("w[%d] = %v, reference %v (off by %.3g)", i, w[i], ref[i], d)
		}
	}
}

func TestParsePrecision(t *testing.T) {
	for _, p := range []Precision{FP32, BF16, INT8} {
		got, err := ParsePrecision(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePrecision(%q) = %v, %v", p, got, err)
		}
	}
	if _, err := ParsePrecision("fp8"); err == nil {
		t.Error("fp8 accepted")
	}
	cfg := DefaultConfig()
	cfg.Moments = INT8 + 1
	if _, err := New(cfg); err == nil {
		t.Error("unknown precision accepted")
	}
}

// The bfloat16 update gives the same bits with the vector loop as with
// the Go loop, for every length, with and without weight decay, over
// steps with gradients of every magnitude (some moments overflowing to
// Inf) and some infinite or NaN: weights, and the codes carried.
func TestUpdate16VectorMatchesGo(t *testing.T) {
	if !haveVector {
		t.Skip("no vector loop on this processor: update16 runs the Go loop only")
	}
	defer func() { useAdamVector = haveVector }()
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := range 200 {
		n := rng.IntN(300)
		w0 := make([]float32, n)
		for i := range w0 {
			w0[i] = float32(rng.NormFloat64())
		}
		run := func(vector bool) ([]float32, []uint16, []uint16) {
			useAdamVector = vector
			a, _ := New(DefaultConfig())
			w, m, v, g := slices.Clone(w0), make([]uint16, n), make([]uint16, n), make([]float32, n)
			grad := rand.New(rand.NewPCG(uint64(trial), 9))
			for step := range 5 {
				randomGrads(grad, g, -35, 20, step == 3 && trial%5 == 0, trial)
				a.Begin()
				a.update16(w, m, v, g, 1e-3, []float32{1, 0.99999}[trial%2], uint64(trial)*77+uint64(step))
			}
			return w, m, v
		}
		w1, m1, v1 := run(true)
		w2, m2, v2 := run(false)
		for i := range n {
			if !sameBits(w1[i], w2[i]) || !sameCode16(m1[i], m2[i]) || !sameCode16(v1[i], v2[i]) {
				t.Fatalf("trial %d (n %d) value %d: vector w %v m %#04x v %#04x, Go w %v m %#04x v %#04x",
					trial, n, i, w1[i], m1[i], v1[i], w2[i], m2[i], v2[i])
			}
		}
	}
}

// sameCode16 reports whether two bfloat16 codes are equal, or both NaN.
func sameCode16(x, y uint16) bool {
	return x == y || x&0x7f80 == 0x7f80 && x&0x7f != 0 && y&0x7f80 == 0x7f80 && y&0x7f != 0
}

// The row-wise bfloat16 update gives the same bits with the vector loop
// as row by row in Go, for row lengths that take the vector loop and some
// that do not, over steps that touch different rows.
func TestUpdate16RowsVectorMatchesGo(t *testing.T) {
	if !haveVector {
		t.Skip("no vector loop on this processor: update16Rows runs the Go loop only")
	}
	defer func() { useAdamVector = haveVector }()
	rng := rand.New(rand.NewPCG(9, 10))
	for _, dim := range []int{8, 64, 72, 5, 12} {
		const tableRows = 300
		w0 := make([]float32, tableRows*dim)
		for i := range w0 {
			w0[i] = float32(rng.NormFloat64())
		}
		run := func(vector bool) ([]float32, []uint16, []uint16) {
			useAdamVector = vector
			a, _ := New(DefaultConfig())
			w, m, v := slices.Clone(w0), make([]uint16, len(w0)), make([]uint16, len(w0))
			pick := rand.New(rand.NewPCG(uint64(dim), 11))
			for range 5 {
				rows, grad := randomRows(pick, tableRows, dim, -30, 20)
				a.Begin()
				keys := make([]uint64, len(rows))
				for k, r := range rows {
					keys[k] = a.rowKey(12345, uint64(r)+1)
				}
				a.update16Rows(w, m, v, dim, rows, grad, 1e-2, keys)
			}
			return w, m, v
		}
		w1, m1, v1 := run(true)
		w2, m2, v2 := run(false)
		for i := range w1 {
			if !sameBits(w1[i], w2[i]) || !sameCode16(m1[i], m2[i]) || !sameCode16(v1[i], v2[i]) {
				t.Fatalf("dim %d value %d: vector w %v m %#04x v %#04x, Go w %v m %#04x v %#04x", dim, i, w1[i], m1[i], v1[i], w2[i], m2[i], v2[i])
			}
		}
	}
}
