package optim

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// searchFloor returns the largest k with g.v[k] <= q: a binary search.
func searchFloor(g *grid, q float32) int {
	lo, hi := 0, len(g.v)-1
	if g.v[hi] <= q {
		return hi
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if g.v[mid] <= q {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// relStep is the largest relative gap between neighbouring codes of g
// (at the start of an octave): 2^-mantissa bits.
func relStep(g *grid) float64 { return math.Ldexp(1, -int(23-g.shift)) }

// The codes are what the package says (ascending from 0 to 1, 16 octaves,
// gaps of at most 1/8 and 1/16), and round gives one of the two codes
// around a value: the lower with no random bits, the upper with all of
// them (unless the value is a code), at every code, its float32
// neighbours and random points.
func TestGridRoundsToANeighbour(t *testing.T) {
	for _, g := range []*grid{signedGrid, unsignedGrid} {
		top := len(g.v) - 1
		if g.v[0] != 0 || g.v[top] != 1 || g.v[1] > 1.0/(1<<15) || g.v[1] < 1.0/(1<<16) {
			t.Fatalf("grid of %d: ends %v, %v, smallest %v", top, g.v[0], g.v[top], g.v[1])
		}
		for k := 2; k <= top; k++ {
			if gap := float64(g.v[k])/float64(g.v[k-1]) - 1; gap <= 0 || gap > relStep(g)*(1+1e-9) {
				t.Fatalf("grid of %d: v[%d]/v[%d] - 1 = %v", top, k, k-1, gap)
			}
		}
		var qs []float32
		for _, v := range g.v[1:] {
			qs = append(qs, v, math.Nextafter32(v, 0), math.Nextafter32(v, 2))
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for range 100000 {
			qs = append(qs, float32(math.Exp2(-15.9*rng.Float64())))
		}
		for _, q := range qs {
			if q < g.v[1] || q > 1 {
				continue
			}
			lo := searchFloor(g, q)
			hi := lo
			if g.v[lo] != q {
				hi = lo + 1
			}
			if got := g.round(q, 1, 1, 0); got != lo {
				t.Fatalf("grid of %d: round(%v) with no random bits = %d, want %d", top, q, got, lo)
			}
			if got := g.round(q, 1, 1, ^uint32(0)); got != hi {
				t.Fatalf("grid of %d: round(%v) with all random bits = %d, want %d", top, q, got, hi)
			}
		}
	}
}

// Stochastic rounding is unbiased: the mean of many codings of x decodes
// to x.
func TestGridRoundingIsUnbiased(t *testing.T) {
	for _, g := range []*grid{signedGrid, unsignedGrid} {
		for _, x := range []float32{0.7071, 0.0123, 3.3e-4} {
			var sum float64
			const n = 1 << 16
			state := uint64(11)
			for range n {
				state += 0x9e3779b97f4a7c15
				sum += float64(g.v[g.round(x, 1, 1, uint32(mix(state)))])
			}
			if mean := sum / n; math.Abs(mean-float64(x)) > 1e-3*float64(x) {
				t.Errorf("grid of %d: mean of %d codings of %v is %v", len(g.v)-1, n, x, mean)
			}
		}
	}
}

// Quantizing and decoding a block keeps every value within one step of
// the code (12.5% for m, 6.25% for sqrt(v)) when it is within the code's
// range of the block's largest, and is unbiased on average.
func TestQuantize8ErrorBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var sumErr, sumAbs float64
	for range 200 {
		var m, s [block8]float32
		var mMax, sMax float32
		for i := range m {
			m[i] = float32(rng.NormFloat64() * math.Exp(3*rng.NormFloat64()))
			s[i] = float32(math.Abs(rng.NormFloat64()) * math.Exp(3*rng.NormFloat64()))
			mMax, sMax = max(mMax, float32(math.Abs(float64(m[i])))), max(sMax, s[i])
		}
		for i := range m {
			r := mix(uint64(i) * 77)
			mc, sc := quantizeSigned(m[i], mMax, 1/mMax, uint32(r)), quantizeUnsigned(s[i], sMax, 1/sMax, uint32(r>>32))
			sd := unsignedGrid.v[sc] * sMax
			md := signedGrid.v[absCode(mc)] * mMax
			if mc < 0 {
				md = -md
			}
			checkStep(t, "m", m[i], md, mMax, signedGrid)
			checkStep(t, "sqrt(v)", s[i], sd, sMax, unsignedGrid)
			sumErr += float64(sd - s[i])
			sumAbs += float64(s[i])
		}
	}
	if bias := sumErr / sumAbs; math.Abs(bias) > 1e-3 {
		t.Errorf("sqrt(v) decoded with a relative bias of %.3g", bias)
	}
}

func checkStep(t *testing.T, what string, x, dec, scale float32, g *grid) {
	t.Helper()
	ax, ad := math.Abs(float64(x)), math.Abs(float64(dec))
	if x != 0 && dec != 0 && (x < 0) != (dec < 0) {
		t.Fatalf("%s %v decoded as %v: the sign changed", what, x, dec)
	}
	smallest := float64(g.v[1] * scale)
	if ax < smallest { // below the range: 0 or the smallest code
		if ad != 0 && ad != smallest {
			t.Fatalf("%s %v below the range decoded as %v", what, x, dec)
		}
		return
	}
	step := 1 + relStep(g)
	if ad < ax/step*(1-1e-6) || ad > ax*step*(1+1e-6) {
		t.Fatalf("%s %v decoded as %v: more than one step (%.4f) of the grid", what, x, dec, step)
	}
}

// 8-bit moments are reproducible bit for bit and follow the float64
// reference of Adam over many steps of varying gradients: the update uses
// the fresh float32 moments, so only the carried state is quantized.
func TestInt8DenseTracksReference(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Moments = INT8
	const n, steps = 600, 300 // three blocks, the last one partial
	grad := func(i, s int) float32 {
		return float32(math.Sin(float64(i*13+s*7))) * 0.1 * float32(1+i%5)
	}
	run := func() ([]float32, *state8) {
		a, _ := New(cfg)
		w := make([]float32, n)
		for i := range w {
			w[i] = float32(i%7) - 3
		}
		g := make([]float32, n)
		for s := range steps {
			for i := range g {
				g[i] = grad(i, s)
			}
			a.Begin()
			a.Dense("w", w, g, 1e-3)
		}
		return w, a.m8["w"]
	}
	ref := make([]float64, n)
	for i := range ref {
		ref[i] = float64(i%7) - 3
	}
	b1, b2 := 0.9, 0.999
	m, v := make([]float64, n), make([]float64, n)
	for s := range steps {
		for i := range ref {
			gi := float64(grad(i, s))
			ref[i] *= 1 - 1e-3*0.01
			m[i] = b1*m[i] + (1-b1)*gi
			v[i] = b2*v[i] + (1-b2)*gi*gi
			den := math.Sqrt(v[i])/math.Sqrt(1-math.Pow(b2, float64(s+1))) + 1e-8
			ref[i] -= 1e-3 / (1 - math.Pow(b1, float64(s+1))) * m[i] / den
		}
	}
	w, st := run()
	again, st2 := run()
	var worst float64
	for i := range w {
		if math.Float32bits(w[i]) != math.Float32bits(again[i]) || st.m[i] != st2.m[i] || st.s[i] != st2.s[i] {
			t.Fatalf("element %d: %v then %v in the same run", i, w[i], again[i])
		}
		worst = max(worst, math.Abs(float64(w[i])-ref[i]))
	}
	// Each step moves a weight by about lr (0.3 in all); the quantization
	// noise of the moments moves it by a few percent of that.
	if worst > 0.05*steps*1e-3 {
		t.Errorf("a weight is off the reference by %.3g after %d steps (limit %.3g)", worst, steps, 0.05*steps*1e-3)
	}
	t.Logf("largest distance from the float64 reference: %.3g (total movement ~%.3g)", worst, steps*1e-3)
}

// A second moment decays over a thousand steps of zero gradient as it
// does in float32 (a decay shared by a whole block is carried by its
// scale; TestInt8SecondMomentFollowsAChange covers a change within one).
func TestInt8SecondMomentDecays(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Moments, cfg.WeightDecay = INT8, 0
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
	st := a.m8["w"]
	var mean float64
	for i := range n {
		_, v := decode8(st.m[i], st.s[i], st.mScale[i/block8], st.sScale[i/block8])
		mean += float64(v) / n
	}
	want := 0.001 * math.Pow(0.999, steps)
	if math.Abs(mean-want) > 0.03*want {
		t.Errorf("mean second moment %.6g after %d zero-gradient steps, want %.6g (float32 decay)", mean, steps, want)
	}
}

// A value whose sqrt(v) fell below its block's range decodes with m = 0:
// an old m is never divided by a vanished v.
func TestInt8VanishedSecondMomentDropsM(t *testing.T) {
	m, v := decode8(-100, 0, 1, 1)
	if m != 0 || v != 0 {
		t.Errorf("codes m -100, sqrt(v) 0 decoded as m %v, v %v; want 0, 0", m, v)
	}
	m, v = decode8(-127, 255, 2, 3)
	if m != -2 || v != 9 {
		t.Errorf("the largest codes decoded as m %v, v %v; want -2, 9", m, v)
	}
}

// Sparse rows keep their own blocks: updating some rows leaves every other
// row's codes and scales as they were, and the state is a quarter of the
// float32 moments' bytes plus the scales.
func TestInt8SparseRowsAreIndependent(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Moments = INT8
	a, _ := New(cfg)
	const rows, dim = 64, 300 // two blocks a row
	w := make([]float32, rows*dim)
	g := make([]float32, 2*dim)
	for i := range g {
		g[i] = float32(i%11) - 5.5 // never 0
	}
	a.Begin()
	a.Sparse("e", w, dim, []int32{3, 7}, g, 0.01)
	st := a.m8["e"]
	if len(st.mScale) != rows*2 || len(st.m) != rows*dim {
		t.Fatalf("state of %d codes and %d scales, want %d and %d", len(st.m), len(st.mScale), rows*dim, rows*2)
	}
	for r := range rows {
		touched := r == 3 || r == 7
		for j := range dim {
			i := r*dim + j
			if (st.s[i] != 0) != touched || (w[i] != 0) != touched {
				t.Fatalf("row %d element %d: code %d, weight %v (touched: %v)", r, j, st.s[i], w[i], touched)
			}
		}
		if (st.sScale[2*r] != 0) != touched || (st.sScale[2*r+1] != 0) != touched {
			t.Fatalf("row %d scales %v %v (touched: %v)", r, st.sScale[2*r], st.sScale[2*r+1], touched)
		}
	}
}

// A second moment follows a gradient that changes within its block: a
// value whose gradient doubles while its block's largest stays the same
// must move its code up by increments of 0.1-0.3% a step, far below the
// code's 3-6% step, so rounding to nearest would leave it where it was
// (its v a quarter of Adam's, its steps twice as large).
func TestInt8SecondMomentFollowsAChange(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Moments, cfg.WeightDecay = INT8, 0
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n, before, after = block8, 3000, 700
	w, g := make([]float32, n), make([]float32, n)
	gradAt := func(i, s int) float32 {
		switch {
		case i == 0:
			return 1 // the block's largest, the same throughout
		case s < before:
			return 0.1
		}
		return 0.2
	}
	var ref float64 // Adam's v of the values i > 0
	for s := range before + after {
		for i := range g {
			g[i] = gradAt(i, s)
		}
		gi := float64(gradAt(1, s))
		ref = 0.999*ref + 0.001*gi*gi
		a.Begin()
		a.Dense("w", w, g, 1e-3)
	}
	st := a.m8["w"]
	var mean float64
	for i := 1; i < n; i++ {
		_, v := decode8(st.m[i], st.s[i], st.mScale[0], st.sScale[0])
		mean += float64(v) / (n - 1)
	}
	if math.Abs(mean-ref) > 0.03*ref {
		t.Errorf("mean second moment %.6g, Adam's %.6g", mean, ref)
	}
}

// The dense update splits its blocks over goroutines without changing a
// bit of the weights or the state.
func TestInt8DenseSplitDoesNotChangeBits(t *testing.T) {
	run := func(procs int) ([]float32, *state8) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		cfg := DefaultConfig()
		cfg.Moments = INT8
		a, _ := New(cfg)
		const n = 300 * block8
		w, g := make([]float32, n), make([]float32, n)
		for s := range 3 {
			for i := range g {
				g[i] = float32((i*31+s*7)%13)/13 - 0.5
			}
			a.Begin()
			a.Dense("w", w, g, 0.01)
		}
		return w, a.m8["w"]
	}
	w1, st1 := run(1)
	w4, st4 := run(4)
	for i := range w1 {
		if math.Float32bits(w1[i]) != math.Float32bits(w4[i]) || st1.m[i] != st4.m[i] || st1.s[i] != st4.s[i] {
			t.Fatalf("element %d: %v with 1 goroutine, %v with 4", i, w1[i], w4[i])
		}
	}
	for j := range st1.mScale {
		if st1.mScale[j] != st4.mScale[j] || st1.sScale[j] != st4.sScale[j] {
			t.Fatalf("block %d: scales differ with the split", j)
		}
	}
}

// block8Reference is block8 as first written, one value at a time through
// decode8, quantizeSigned and quantizeUnsigned: the bits code8 must keep.
func (a *AdamW) block8Reference(w, g []float32, mc []int8, sc []uint8, mScale, sScale *float32, lr float32, key uint64) {
	b1, b2, c1, c2 := a.cfg.Beta1, a.cfg.Beta2, 1-a.cfg.Beta1, 1-a.cfg.Beta2
	step := lr / a.bc1
	isb2 := float32(1 / math.Sqrt(float64(a.bc2)))
	var mb, sb [block8]float32
	var mMax, sMax float32
	for i, gi := range g[:len(w)] {
		mOld, vOld := decode8(mc[i], sc[i], *mScale, *sScale)
		mi := float32(b1*mOld) + float32(c1*gi)
		vi := float32(b2*vOld) + float32(float32(c2*gi)*gi)
		si := float32(math.Sqrt(float64(vi)))
		mb[i], sb[i] = mi, si
		mMax, sMax = max(mMax, float32(math.Abs(float64(mi)))), max(sMax, si)
		w[i] -= float32(step*mi) / (float32(si*isb2) + a.cfg.Eps)
	}
	*mScale, *sScale = mMax, sMax
	mInv, sInv := 1/mMax, 1/sMax
	state := key
	for i := range w {
		state += 0x9e3779b97f4a7c15
		r := mix(state)
		mc[i] = quantizeSigned(mb[i], mMax, mInv, uint32(r))
		sc[i] = quantizeUnsigned(sb[i], sMax, sInv, uint32(r>>32))
	}
}

// sameBits reports whether x and y are the same float32, or both a NaN:
// which NaN a block's scale holds is not specified.
func sameBits(x, y float32) bool {
	return math.Float32bits(x) == math.Float32bits(y) || x != x && y != y
}

// The block update keeps the reference's bits (weights, codes, scales)
// over many steps of blocks of every length, with gradients of every
// order of magnitude and blocks that are all zero, tiny, infinite or NaN;
// with the vector loops (where the processor has them) and without.
func TestBlock8MatchesReference(t *testing.T) {
	if !haveVector {
		t.Log("no vector loops on this processor: the Go loops only")
	}
	for _, vector := range []bool{haveVector, false} {
		useBlock8Vector = vector
		block8MatchesReference(t)
	}
	useBlock8Vector = haveVector
}

func block8MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	a, _ := New(DefaultConfig())
	grads := []func(int) float32{
		func(int) float32 { return float32(rng.NormFloat64()) },
		func(int) float32 { return float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(60)-40))) },
		func(int) float32 { return 0 },
		func(int) float32 { return 1e-45 * float32(rng.IntN(3)-1) },
		func(i int) float32 { return []float32{float32(math.Inf(1)), 1, -2}[i%3] },
		func(i int) float32 { return []float32{float32(math.NaN()), 0.5, 0}[i%3] },
		func(i int) float32 { return float32(i%2) * 5e-39 * float32(rng.NormFloat64()) }, // 1/scale overflows
	}
	for trial := range 400 {
		n := 1 + rng.IntN(block8)
		w1, g := make([]float32, n), make([]float32, n)
		for i := range w1 {
			w1[i] = float32(rng.NormFloat64())
		}
		w2 := append([]float32(nil), w1...)
		m1, s1 := make([]int8, n), make([]uint8, n)
		m2, s2 := make([]int8, n), make([]uint8, n)
		var ms1, ss1, ms2, ss2 float32
		for step := range 6 {
			a.Begin()
			gen := grads[(trial+step)%len(grads)]
			for i := range g {
				g[i] = gen(i)
			}
			key := uint64(trial*1000 + step)
			a.block8(w1, g, m1, s1, &ms1, &ss1, 1e-3, key)
			a.block8Reference(w2, g, m2, s2, &ms2, &ss2, 1e-3, key)
			for i := range w1 {
				if !sameBits(w1[i], w2[i]) || m1[i] != m2[i] || s1[i] != s2[i] {
					t.Fatalf("trial %d step %d value %d: w %v m %d s %d, reference w %v m %d s %d",
						trial, step, i, w1[i], m1[i], s1[i], w2[i], m2[i], s2[i])
				}
			}
			if !sameBits(ms1, ms2) || !sameBits(ss1, ss2) {
				t.Fatalf("trial %d step %d: scales %v %v, reference %v %v", trial, step, ms1, ss1, ms2, ss2)
			}
		}
	}
}

// Prefetching a row is harmless for every row, in range or not.
func TestPrefetchRowInAnyRange(t *testing.T) {
	const rows, dim = 10, 64
	st, w := newState8(rows*dim, dim), make([]float32, rows*dim)
	for _, r := range []int{-1, 0, rows - 1, rows, 1 << 40} {
		st.prefetch(w, r)
	}
	st.prefetch(w[:dim], 1) // a table shorter than the state
}
