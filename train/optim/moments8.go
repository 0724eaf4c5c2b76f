package optim

import (
	"math"
	"runtime"
	"sync"
)

// Block-wise 8-bit moments (Config.Moments = INT8), after Dettmers et al.,
// "8-bit Optimizers via Block-wise Quantization" (ICLR 2022): each moment
// tensor is cut into blocks of block8 values (within one embedding row for
// sparse tensors, so that rows stay independent), each block stores its
// largest magnitude as a float32 scale and every value as an 8-bit code of
// value/scale in a small floating-point format (the "dynamic exponent"
// idea of the paper: an exponent and a few linear mantissa bits), which
// keeps the relative error about the same over the block's range instead
// of losing its small values to zero as a linear code would:
//
//   - the first moment m: a sign and a 7-bit magnitude, 16 octaves below
//     the scale with 3 mantissa bits (steps of 6-12%), and 0;
//   - the second moment v is stored as sqrt(v), the quantity the update
//     divides by: 8 bits, 16 octaves of sqrt(v) (32 of v) with 4 mantissa
//     bits (steps of 3-6%), and 0.
//
// A code is the top bits of the float32 value/scale (its exponent and
// leading mantissa bits), so coding is integer arithmetic on the bits.
//
// As with BF16, each step decodes the moments, computes the update in
// float32 with the new float32 moments and only then quantizes what is
// carried to the next step. The rounding is stochastic (random bits added
// below the kept ones: up with probability equal to the position between
// the two neighbouring codes), with bits from the same counter-based
// generator as BF16, keyed by tensor, step, row and element: rounding to
// nearest would lose every change smaller than half a step of the code
// (beta2's 0.1% a step against 1.5-3% half-steps), so a v whose gradient
// changes would stop following it. A run is reproducible bit for bit and
// independent of the split over goroutines; every operation is a float32
// operation with each product rounded before it is added (no fused
// multiply-add can change the bits).
//
// A value whose sqrt(v) is coded 0 (below the block's range) has its m
// decoded as 0 too: the step then uses only the current gradient, never
// an old m divided by a vanished v.
const block8 = 256

// signedGrid and unsignedGrid are the codes' magnitudes.
var signedGrid, unsignedGrid = makeGrid(127, 3), makeGrid(255, 4)

// grid is a code of top+1 magnitudes from 0 to 1: code k >= 1 is the
// float32 whose top bits (sign 0, exponent, mantissaBits of mantissa) are
// k+base, so that top is 1.0 and the smallest is about 2^-16.
type grid struct {
	v     []float32
	shift uint32 // 23 - mantissa bits
	base  int
}

func makeGrid(top int, mantissaBits uint32) *grid {
	shift := 23 - mantissaBits
	g := &grid{v: make([]float32, top+1), shift: shift, base: int(math.Float32bits(1)>>shift) - top}
	for k := 1; k <= top; k++ {
		g.v[k] = math.Float32frombits(uint32(k+g.base) << shift)
	}
	return g
}

// round returns the code of the magnitude x/scale (x*inv, inv = 1/scale):
// the code below it, or the one above with probability equal to its
// position between them (the low shift bits of r added below the kept
// bits). Magnitudes below the smallest code round to 0 or to it. A zero
// scale codes 0; a non-finite one codes every non-zero x as the largest
// magnitude (a NaN or an infinity then stays one when decoded).
func (g *grid) round(x, scale, inv float32, r uint32) int {
	top := len(g.v) - 1
	if !(scale > 0 && scale <= math.MaxFloat32) {
		if x == 0 || scale == 0 {
			return 0
		}
		return top
	}
	q := min(x*inv, 1) // NaN stays NaN: the top code
	b := math.Float32bits(q) + r&(1<<g.shift-1)
	return min(max(int(b>>g.shift)-g.base, 0), top)
}

// state8 is one tensor's 8-bit moments: codes and per-block scales.
type state8 struct {
	m      []int8
	s      []uint8 // sqrt(v)
	mScale []float32
	sScale []float32
	dim    int // block rows of this length (the tensor's length if dense)
}

func newState8(n, dim int) *state8 {
	blocks := (n / dim) * blocksIn(dim)
	return &state8{m: make([]int8, n), s: make([]uint8, n), mScale: make([]float32, blocks),
		sScale: make([]float32, blocks), dim: dim}
}

// blocksIn is the number of blocks of a row of n values.
func blocksIn(n int) int { return (n + block8 - 1) / block8 }

// prefetch asks for the first cache lines of row of w and of the state's
// codes and scales (a row out of range is left alone), so that a loop over
// random rows has the row it will update later on its way from memory.
func (st *state8) prefetch(w []float32, row int) {
	lo, b := row*st.dim, row*blocksIn(st.dim)
	if !useBlock8Vector || row < 0 || lo >= len(st.m) || lo >= len(w) || b >= len(st.mScale) {
		return
	}
	prefetchRow8(&w[lo], &st.m[lo], &st.s[lo], &st.mScale[b], &st.sScale[b])
}

// state8For returns name's 8-bit state (zero on first use): rows of dim
// values, each cut into blocks.
func (a *AdamW) state8For(name string, n, dim int) *state8 {
	st, ok := a.m8[name]
	if !ok {
		st = newState8(n, dim)
		a.m8[name] = st
	}
	return st
}

// update8 is update with 8-bit moments for row (0-based) of st: w, g are
// the row's weights and gradient.
func (a *AdamW) update8(w, g []float32, st *state8, row int, lr float32, key uint64) {
	a.blocks8(w, g, st, row, 0, blocksIn(len(w)), lr, key)
}

// update8Parallel is update8 with the blocks split over up to GOMAXPROCS
// goroutines (at most 4): blocks are independent and each value's random
// bits depend only on its index, so the split does not change a bit.
func (a *AdamW) update8Parallel(w, g []float32, st *state8, lr float32, key uint64) {
	n := blocksIn(len(w))
	workers := min(runtime.GOMAXPROCS(0), 4, n/64+1)
	if workers <= 1 {
		a.blocks8(w, g, st, 0, 0, n, lr, key)
		return
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for from := 0; from < n; from += per {
		wg.Go(func() { a.blocks8(w, g, st, 0, from, min(from+per, n), lr, key) })
	}
	wg.Wait()
}

// blocks8 updates blocks [from, to) of row.
func (a *AdamW) blocks8(w, g []float32, st *state8, row, from, to int, lr float32, key uint64) {
	lo := row * st.dim
	b0 := row * blocksIn(st.dim)
	for j := from; j < to; j++ {
		from, to := j*block8, min((j+1)*block8, len(w))
		a.block8(w[from:to], g[from:to], st.m[lo+from:lo+to], st.s[lo+from:lo+to],
			&st.mScale[b0+j], &st.sScale[b0+j], lr, key+uint64(from)*0x9e3779b97f4a7c15)
	}
}

// block8 updates one block: decode, step in float32, re-quantize with the
// block's new largest magnitudes as scales.
func (a *AdamW) block8(w, g []float32, mc []int8, sc []uint8, mScale, sScale *float32, lr float32, key uint64) {
	var mb, sb [block8]float32
	n := len(w)
	mMax, sMax := a.step8(w, g[:n], mc[:n], sc[:n], *mScale, *sScale, lr, mb[:n], sb[:n])
	*mScale, *sScale = mMax, sMax
	if usable(mMax) && usable(sMax) {
		code8(mc[:n], sc[:n], mb[:n], sb[:n], 1/mMax, 1/sMax, key)
		return
	}
	mInv, sInv := 1/mMax, 1/sMax
	state := key
	for i := range w {
		state += 0x9e3779b97f4a7c15
		r := mix(state)
		mc[i] = quantizeSigned(mb[i], mMax, mInv, uint32(r))
		sc[i] = quantizeUnsigned(sb[i], sMax, sInv, uint32(r>>32))
	}
}

// params8 is what step8 needs besides the block: the scales of its codes
// and the step's constants (decay unused). Its layout is step8AVX2's.
type params8 struct {
	mScale, sScale float32
	paramsF32
}

// step8 decodes the block's moments, takes the AdamW step on w and leaves
// the new float32 moments (m, and sqrt(v)) in mb and sb; it returns their
// largest magnitudes, a NaN if any is NaN (which NaN is not specified).
func (a *AdamW) step8(w, g []float32, mc []int8, sc []uint8, mScale, sScale, lr float32, mb, sb []float32) (float32, float32) {
	p := params8{mScale: mScale, sScale: sScale, paramsF32: a.params32(lr, 1)}
	var mMax, sMax uint32 // the bits of the magnitudes: ordered as the values, NaN above all
	done := 0
	if useBlock8Vector && len(g) >= 8 {
		mMax, sMax = step8AVX2(w, g, mc, sc, mb, sb, &p)
		done = len(g) &^ 7
	}
	for i := done; i < len(g); i++ {
		mi, si := p.value(&w[i], g[i], mc[i], sc[i])
		mb[i], sb[i] = mi, si
		mMax = max(mMax, math.Float32bits(mi)&0x7fffffff)
		sMax = max(sMax, math.Float32bits(si)&0x7fffffff)
	}
	return math.Float32frombits(mMax), math.Float32frombits(sMax)
}

// value steps one weight from its codes and gradient and returns its new
// m and sqrt(v).
func (p *params8) value(w *float32, gi float32, mc int8, sc uint8) (float32, float32) {
	mOld, vOld := decode8(mc, sc, p.mScale, p.sScale)
	mi := float32(p.b1*mOld) + float32(p.c1*gi)
	vi := float32(p.b2*vOld) + float32(float32(p.c2*gi)*gi)
	si := float32(math.Sqrt(float64(vi)))
	den := float32(si*p.isb2) + p.eps
	*w -= float32(p.step*mi) / den
	return mi, si
}

// useBlock8Vector selects the AVX2 loops where there are some; tests switch
// it off to check the Go loops give the same bits.
var useBlock8Vector = haveVector

// usable reports whether a block scale is positive and finite, so that the
// codes can be found without grid.round's checks.
func usable(scale float32) bool { return scale > 0 && scale <= math.MaxFloat32 }

// The grids' constants, for code8: the kept bits of a float32 below 1 and
// the offset of code 0 (see makeGrid).
const (
	mShift = 23 - 3
	mBase  = 0x3f800000>>mShift - 127
	sShift = 23 - 4
	sBase  = 0x3f800000>>sShift - 255
)

// code8 is the quantizing loop of block8 for usable scales (1/scale in
// mInv and sInv): the arithmetic of quantizeSigned and quantizeUnsigned
// with the scale checks and the grid lookups taken out, so the same codes.
func code8(mc []int8, sc []uint8, mb, sb []float32, mInv, sInv float32, key uint64) {
	sc, mb, sb = sc[:len(mc)], mb[:len(mc)], sb[:len(mc)]
	done := 0
	if useBlock8Vector && len(mc) >= 8 {
		code8AVX2(mc, sc, mb, sb, mInv, sInv, key)
		done = len(mc) &^ 7
	}
	state := key + uint64(done)*0x9e3779b97f4a7c15
	for i := done; i < len(mc); i++ {
		state += 0x9e3779b97f4a7c15
		r := mix(state)
		xb := math.Float32bits(mb[i])
		q := min(math.Float32frombits(xb&0x7fffffff)*mInv, 1)
		k := min(max(int32((math.Float32bits(q)+uint32(r)&(1<<mShift-1))>>mShift)-mBase, 0), 127)
		neg := int32(xb) >> 31
		mc[i] = int8(k ^ neg - neg)
		q = min(sb[i]*sInv, 1)
		u := min(max(int32((math.Float32bits(q)+uint32(r>>32)&(1<<sShift-1))>>sShift)-sBase, 0), 255)
		sc[i] = uint8(u)
	}
}

// decode8 returns m and v of one value from their codes and block scales.
func decode8(m int8, s uint8, mScale, sScale float32) (float32, float32) {
	if s == 0 {
		return 0, 0
	}
	sv := float32(unsignedGrid.v[s] * sScale)
	mag := float32(signedGrid.v[absCode(m)] * mScale)
	if m < 0 {
		mag = -mag
	}
	return mag, float32(sv * sv)
}

func absCode(m int8) int {
	if m < 0 {
		return -int(m)
	}
	return int(m)
}

// quantizeSigned codes x against the scale (the block's largest
// magnitude; inv is 1/scale) with 32 random bits.
func quantizeSigned(x, scale, inv float32, r uint32) int8 {
	k := int8(signedGrid.round(float32(math.Abs(float64(x))), scale, inv, r))
	if x < 0 {
		return -k
	}
	return k
}

func quantizeUnsigned(x, scale, inv float32, r uint32) uint8 {
	return uint8(unsignedGrid.round(x, scale, inv, r))
}
