package fusion

import (
	"slices"
	"sync"
)

const (
	// chunk is how many coordinates the linear rules accumulate at a time:
	// 8 KiB of float32 stays in L1 while the deltas stream past in groups.
	chunk = 2048
	// vecChunk is the block for the vectorised path, which makes one pass
	// per delta: long enough runs for the hardware prefetcher, small
	// enough for L2.
	vecChunk = 32 << 10
	// minSplit is the fewest coordinates worth a goroutine of their own.
	minSplit = 64 << 10

	expMask = 0x7f800000
	expLSB  = 0x00800000
	signBit = 0x80000000
)

// useVector selects the vectorised accumulation where there is one; tests
// switch it off to run the portable grouped loops on every processor.
var useVector = haveVector

// job fuses one tensor: out = base + combine(ds). Every coordinate is
// computed by the same sequence of float32 operations whatever the range
// split, so splitting across goroutines cannot change a bit.
type job struct {
	rule Rule
	out  []float32
	base []float32
	ds   [][]float32 // ascending by delta ID
	// coef multiplies each delta before combining (clip scale, times the
	// weight for Weighted); nil means every factor is 1.
	coef []float32
	// net is the sorting network for len(ds) inputs (robust rules only).
	net [][2]int
	// scratch, when set, is reused for the accumulator and sort columns
	// (one goroutine's; run(1) only); nil allocates per call.
	scratch *scratch
}

// scratch is one goroutine's working memory for job.linear and job.robust.
type scratch struct {
	acc  []float32
	sum  []int64 // the mean rules' fixed-point accumulator
	cols [][]int32
	tmp  []float32
}

// accBuf returns an accumulator of n values.
func (s *scratch) accBuf(n int) []float32 {
	if s == nil {
		return make([]float32, n)
	}
	if cap(s.acc) < n {
		s.acc = make([]float32, n)
	}
	return s.acc[:n]
}

// sortBufs returns n sort columns and a temporary row of robustChunk.
func (s *scratch) sortBufs(n int) ([][]int32, []float32) {
	if s == nil {
		s = &scratch{}
	}
	if len(s.cols) < n {
		s.cols = make([][]int32, n)
		for i := range s.cols {
			s.cols[i] = make([]int32, robustChunk)
		}
		s.tmp = make([]float32, robustChunk)
	}
	return s.cols[:n], s.tmp
}

// run fuses the whole tensor on up to workers goroutines and reports
// whether any output or input value was non-finite, or (mean rules) any
// input value out of the exact sum's range.
func (j *job) run(workers int) bool {
	f := j.kernel()
	n := len(j.out)
	parts := min(workers, n/minSplit)
	if parts <= 1 {
		return f(0, n)
	}
	step := ((n+parts-1)/parts + chunk - 1) / chunk * chunk
	bad := make([]bool, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := min(p*step, n), min((p+1)*step, n)
		if p == parts-1 {
			hi = n
		}
		wg.Go(func() { bad[p] = f(lo, hi) })
	}
	wg.Wait()
	return slices.Contains(bad, true)
}

// kernel picks the rule's function over a coordinate range.
func (j *job) kernel() func(lo, hi int) bool {
	switch {
	case j.rule.exact():
		return func(lo, hi int) bool {
			bad, input := j.exactSpan(lo, hi)
			return bad || input >= 0
		}
	case j.rule.Kind == Median || j.rule.Kind == Trimmed:
		if j.net == nil {
			j.net = network(len(j.ds))
		}
		return j.robust
	}
	return j.linear
}

// linear computes Weighted over coordinates [lo, hi) (and Mean in the
// float32 order of earlier versions, which tests keep as a reference).
func (j *job) linear(lo, hi int) bool {
	size := chunk
	if useVector {
		size = vecChunk
	}
	acc := j.scratch.accBuf(min(size, hi-lo))
	var bad uint32
	for c := lo; c < hi; c += size {
		e := min(c+size, hi)
		a := acc[:e-c]
		j.accumulate(a, c, e)
		if j.rule.Kind == Weighted {
			bad |= addBase(j.out[c:e], j.base[c:e], a)
		} else {
			bad |= addMean(j.out[c:e], j.base[c:e], a, len(j.ds))
		}
	}
	return bad&signBit != 0
}

// accumulate sets a to the sum over deltas, in ID order, of coef*delta on
// coordinates [c, e). Deltas are added in groups of up to eight per pass
// over a, written left to right: ((a+d1)+d2)+..., the same bits as one at
// a time.
func (j *job) accumulate(a []float32, c, e int) {
	if useVector {
		j.accumulateVector(a, c, e)
		return
	}
	if j.coef != nil {
		j.accumulateScaled(a, c, e)
		return
	}
	ds := j.ds
	i := 0
	switch {
	case len(ds) >= 8:
		set8(a, ds[0][c:e], ds[1][c:e], ds[2][c:e], ds[3][c:e], ds[4][c:e], ds[5][c:e], ds[6][c:e], ds[7][c:e])
		i = 8
	case len(ds) >= 4:
		set4(a, ds[0][c:e], ds[1][c:e], ds[2][c:e], ds[3][c:e])
		i = 4
	default:
		copy(a, ds[0][c:e])
		i = 1
	}
	for ; i+8 <= len(ds); i += 8 {
		add8(a, ds[i][c:e], ds[i+1][c:e], ds[i+2][c:e], ds[i+3][c:e], ds[i+4][c:e], ds[i+5][c:e], ds[i+6][c:e], ds[i+7][c:e])
	}
	for ; i+4 <= len(ds); i += 4 {
		add4(a, ds[i][c:e], ds[i+1][c:e], ds[i+2][c:e], ds[i+3][c:e])
	}
	for ; i < len(ds); i++ {
		add1(a, ds[i][c:e])
	}
}

// accumulateVector is accumulate with one vectorised pass over a per
// group of up to four deltas (a stays in L1): the same additions in the
// same order.
func (j *job) accumulateVector(a []float32, c, e int) {
	if j.coef == nil {
		copy(a, j.ds[0][c:e])
		rest := j.ds[1:]
		for ; len(rest) >= 4; rest = rest[4:] {
			add4To(a, rest[0][c:e], rest[1][c:e], rest[2][c:e], rest[3][c:e])
		}
		for _, d := range rest {
			addTo(a, d[c:e])
		}
		return
	}
	scaleTo(a, j.ds[0][c:e], j.coef[0])
	i := 1
	for ; i+4 <= len(j.ds); i += 4 {
		k := (*[4]float32)(j.coef[i : i+4])
		addScaled4To(a, j.ds[i][c:e], j.ds[i+1][c:e], j.ds[i+2][c:e], j.ds[i+3][c:e], k)
	}
	for ; i < len(j.ds); i++ {
		addScaledTo(a, j.ds[i][c:e], j.coef[i])
	}
}

func (j *job) accumulateScaled(a []float32, c, e int) {
	ds, k := j.ds, j.coef
	i := 0
	if len(ds) >= 8 {
		setScaled8(a, ds[0][c:e], ds[1][c:e], ds[2][c:e], ds[3][c:e], ds[4][c:e], ds[5][c:e], ds[6][c:e], ds[7][c:e], k[:8])
		i = 8
	} else {
		scale(a, ds[0][c:e], k[0])
		i = 1
	}
	for ; i+8 <= len(ds); i += 8 {
		addScaled8(a, ds[i][c:e], ds[i+1][c:e], ds[i+2][c:e], ds[i+3][c:e], ds[i+4][c:e], ds[i+5][c:e], ds[i+6][c:e], ds[i+7][c:e], k[i:i+8])
	}
	for ; i+4 <= len(ds); i += 4 {
		addScaled4(a, ds[i][c:e], ds[i+1][c:e], ds[i+2][c:e], ds[i+3][c:e], k[i:i+4])
	}
	for ; i < len(ds); i++ {
		addScaled(a, ds[i][c:e], k[i])
	}
}

func set8(a, b, c, d, e, f, g, h, k []float32) {
	b, c, d, e, f, g, h, k = b[:len(a)], c[:len(a)], d[:len(a)], e[:len(a)], f[:len(a)], g[:len(a)], h[:len(a)], k[:len(a)]
	for i := range a {
		a[i] = b[i] + c[i] + d[i] + e[i] + f[i] + g[i] + h[i] + k[i]
	}
}

func set4(a, b, c, d, e []float32) {
	b, c, d, e = b[:len(a)], c[:len(a)], d[:len(a)], e[:len(a)]
	for i := range a {
		a[i] = b[i] + c[i] + d[i] + e[i]
	}
}

func add8(a, b, c, d, e, f, g, h, k []float32) {
	b, c, d, e, f, g, h, k = b[:len(a)], c[:len(a)], d[:len(a)], e[:len(a)], f[:len(a)], g[:len(a)], h[:len(a)], k[:len(a)]
	for i := range a {
		a[i] = a[i] + b[i] + c[i] + d[i] + e[i] + f[i] + g[i] + h[i] + k[i]
	}
}

func add4(a, b, c, d, e []float32) {
	b, c, d, e = b[:len(a)], c[:len(a)], d[:len(a)], e[:len(a)]
	for i := range a {
		a[i] = a[i] + b[i] + c[i] + d[i] + e[i]
	}
}

func add1(a, b []float32) {
	b = b[:len(a)]
	for i := range a {
		a[i] += b[i]
	}
}

func scale(a, b []float32, k float32) {
	b = b[:len(a)]
	for i := range a {
		a[i] = float32(k * b[i])
	}
}

// addScaled adds k*b, rounding the product to float32 first so that no
// processor fuses it into a multiply-add.
func addScaled(a, b []float32, k float32) {
	b = b[:len(a)]
	for i := range a {
		a[i] = a[i] + float32(k*b[i])
	}
}

// addScaled4 adds four scaled deltas left to right, each product rounded
// to float32 before it is added.
func addScaled4(a, b, c, d, e []float32, k []float32) {
	b, c, d, e = b[:len(a)], c[:len(a)], d[:len(a)], e[:len(a)]
	kb, kc, kd, ke := k[0], k[1], k[2], k[3]
	for i := range a {
		a[i] = a[i] + float32(kb*b[i]) + float32(kc*c[i]) + float32(kd*d[i]) + float32(ke*e[i])
	}
}

// setScaled8 and addScaled8 are the eight-delta forms of scale and
// addScaled: every product rounded to float32, sums left to right.
func setScaled8(a, b, c, d, e, f, g, h, m []float32, k []float32) {
	b, c, d, e, f, g, h, m = b[:len(a)], c[:len(a)], d[:len(a)], e[:len(a)], f[:len(a)], g[:len(a)], h[:len(a)], m[:len(a)]
	k0, k1, k2, k3, k4, k5, k6, k7 := k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]
	for i := range a {
		a[i] = float32(k0*b[i]) + float32(k1*c[i]) + float32(k2*d[i]) + float32(k3*e[i]) +
			float32(k4*f[i]) + float32(k5*g[i]) + float32(k6*h[i]) + float32(k7*m[i])
	}
}

func addScaled8(a, b, c, d, e, f, g, h, m []float32, k []float32) {
	b, c, d, e, f, g, h, m = b[:len(a)], c[:len(a)], d[:len(a)], e[:len(a)], f[:len(a)], g[:len(a)], h[:len(a)], m[:len(a)]
	k0, k1, k2, k3, k4, k5, k6, k7 := k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]
	for i := range a {
		a[i] = a[i] + float32(k0*b[i]) + float32(k1*c[i]) + float32(k2*d[i]) + float32(k3*e[i]) +
			float32(k4*f[i]) + float32(k5*g[i]) + float32(k6*h[i]) + float32(k7*m[i])
	}
}

// addMean sets out = base + a/n (as a*(1/n) when n is a power of two,
// which is exact) and returns a word whose sign bit is set if any result is
// NaN or infinite.
func addMean(out, base, a []float32, n int) uint32 {
	out, base = out[:len(a)], base[:len(a)]
	if n&(n-1) == 0 {
		return mulAddTo(out, base, a, 1/float32(n))
	}
	return divAddTo(out, base, a, float32(n))
}

// addBase sets out = base + a (a*1 is a, exactly), flagging non-finite
// results like addMean.
func addBase(out, base, a []float32) uint32 {
	return mulAddTo(out[:len(a)], base[:len(a)], a, 1)
}
