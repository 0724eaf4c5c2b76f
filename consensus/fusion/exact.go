package fusion

import (
	"fmt"
	"math"
)

// The mean rules (mean and clip:C,mean) sum their deltas exactly, in
// fixed point: every value v (after its clip scale) becomes the integer
// q = round-half-even(v * 2^SumShift), the q of all deltas are added in
// int64, and out = base + float32(float64(sum) / (n * 2^SumShift)).
// Integer addition is exact and commutative, so the sum does not depend on
// the order in which deltas arrive: a node can add each delta as its check
// passes, remove one a record leaves out, and finish the mean when the
// round closes (see Sum), with the same bits as fusing the set at once.
const (
	// SumShift is the fixed-point scale: a quantum of 2^-36 (1.5e-11),
	// below the float32 spacing of any weight above 1e-4 in magnitude.
	SumShift = 36
	// SumLimit bounds the magnitude of a value a mean rule can add: any
	// |v| >= 2^10 is an ErrRange. With at most 2^15 deltas (the protocol
	// caps a record at 20,000 contributions), the int64 sum stays below
	// 2^61 and cannot overflow.
	SumLimit = 1 << 10
	// MaxSumInputs is the most deltas one sum may hold.
	MaxSumInputs = 1 << 15

	sumScale = 0x1p36
	// roundMagic is 1.5*2^(52-SumShift): adding it to a float64 below 2^15
	// in magnitude rounds it to a multiple of 2^-SumShift, ties to even
	// (IEEE default rounding); see quantizeAdd.
	roundMagic     = 0x1.8p16
	roundMagicBits = 0x40f8000000000000
	// sumChunk is how many coordinates the mean accumulates at a time in
	// Fuse: 64 KiB of int64 stays in L2 while four delta streams pass over
	// it per vector call, runs long enough for the prefetchers.
	sumChunk = 8192
	// rangeExp is the float32 exponent field of SumLimit.
	rangeExp = (127 + 10) << 23
)

// exact reports whether r is computed by the fixed-point sum.
func (r Rule) exact() bool { return r.Kind == Mean }

// quantizeAdd adds the fixed-point values of k*v to acc (subtracts them
// when neg) and returns a word whose sign bit is set if any k*v is out of
// range or not finite; such a value adds nothing, so the same call with
// neg flipped undoes any call exactly. k == 1 adds v itself.
//
// q = round-half-even(x * 2^36) is computed as the low mantissa bits of
// the float64 sum x + 1.5*2^16: for |x| < 2^15 that sum lies in [2^16,
// 2^17), where doubles are spaced 2^-36 apart, so the one rounding of the
// add is exactly the rounding to the quantum, ties to even.
func quantizeAdd(acc []int64, v []float32, k float32, neg bool) uint32 {
	v = v[:len(acc)]
	var vbad uint32
	if useQuantizeVector && len(acc) >= 8 {
		n := len(acc) &^ 7
		vbad = quantizeAVX2(acc[:n], v[:n], k, neg)
		acc, v = acc[n:], v[n:]
	}
	return vbad | quantizeAddGo(acc, v, k, neg)
}

// useQuantizeVector selects the AVX2 loop where there is one; tests switch
// it off to check the Go loop gives the same sums.
var useQuantizeVector = haveQuantizeVector

// quantizeAddGo is quantizeAdd's portable loop.
func quantizeAddGo(acc []int64, v []float32, k float32, neg bool) uint32 {
	var bad uint32
	for i, d := range v {
		x := d
		if k != 1 {
			x = float32(k * d)
		}
		flag := rangeExp - 1 - math.Float32bits(x)&expMask
		q := int64(math.Float64bits(float64(x)+roundMagic)-roundMagicBits) & keep(flag)
		if neg {
			q = -q
		}
		acc[i] += q
		bad |= flag
	}
	return bad
}

// keep is the mask a value is added through: all ones for a value in
// range (flag's sign bit clear), zero for one that is not.
func keep(flag uint32) int64 { return int64(flag>>31) - 1 }

// finishMean sets out = base + float32(acc/(n*2^SumShift)) and flags
// non-finite results like addMean.
func finishMean(out, base []float32, acc []int64, n int) uint32 {
	base, acc = base[:len(out)], acc[:len(out)]
	div := float64(n) * sumScale
	var bad uint32
	for useQuantizeVector && len(out) >= 4 {
		r := finishAVX2(out, base, acc, div)
		done := int(uint32(r))
		if r>>63 != 0 {
			bad = signBit
		}
		out, base, acc = out[done:], base[done:], acc[done:]
		if len(out) < 4 {
			break
		}
		// A group with a sum of 2^51 or more: four values in Go.
		bad |= finishMeanGo(out[:4], base[:4], acc[:4], div)
		out, base, acc = out[4:], base[4:], acc[4:]
	}
	return bad | finishMeanGo(out, base, acc, div)
}

// finishMeanGo is finishMean's portable loop.
func finishMeanGo(out, base []float32, acc []int64, div float64) uint32 {
	var bad uint32
	for i, a := range acc {
		o := base[i] + float32(float64(a)/div)
		out[i] = o
		bad |= math.Float32bits(o)&expMask + expLSB
	}
	return bad
}

// exactSpan computes a mean rule over coordinates [lo, hi) of the job. It
// reports whether an output was non-finite and the index of the first
// input with a value out of range or non-finite (-1 if none).
func (j *job) exactSpan(lo, hi int) (bool, int) {
	acc := j.scratch.sumBuf(min(sumChunk, hi-lo))
	var bad uint32
	for c := lo; c < hi; c += sumChunk {
		e := min(c+sumChunk, hi)
		a := acc[:e-c]
		clear(a)
		if i := j.quantizeAll(a, c, e); i >= 0 {
			return false, i
		}
		bad |= finishMean(j.out[c:e], j.base[c:e], a, len(j.ds))
	}
	return bad&signBit != 0, -1
}

// quantizeAll adds every delta's q over coordinates [c, e) to a, four
// deltas per pass where the vector loop runs. It returns the index of an
// input with a bad value (-1 if none); a is then to be discarded.
func (j *job) quantizeAll(a []int64, c, e int) int {
	i := 0
	if useQuantizeVector && len(a) >= 8 {
		for ; i+4 <= len(j.ds); i += 4 {
			k := [4]float32{j.coefOf(i), j.coefOf(i + 1), j.coefOf(i + 2), j.coefOf(i + 3)}
			if quantize4(a, j.ds[i][c:e], j.ds[i+1][c:e], j.ds[i+2][c:e], j.ds[i+3][c:e], &k)&signBit != 0 {
				return i
			}
		}
	}
	for ; i < len(j.ds); i++ {
		if quantizeAdd(a, j.ds[i][c:e], j.coefOf(i), false)&signBit != 0 {
			return i
		}
	}
	return -1
}

// quantize4 is quantizeAdd of four deltas (k[i] times each) with the
// vector loop, which does not zero bad values: a caller seeing the sign
// bit must discard acc.
func quantize4(acc []int64, a, b, c, d []float32, k *[4]float32) uint32 {
	n := len(acc) &^ 7
	var bad uint32
	if *k == [4]float32{1, 1, 1, 1} {
		bad = quantize4PlainAVX2(acc[:n], a[:n], b[:n], c[:n], d[:n])
	} else {
		bad = quantize4AVX2(acc[:n], a[:n], b[:n], c[:n], d[:n], k)
	}
	if n < len(acc) {
		rest := acc[n:]
		bad |= quantizeAddGo(rest, a[n:len(acc)], k[0], false)
		bad |= quantizeAddGo(rest, b[n:len(acc)], k[1], false)
		bad |= quantizeAddGo(rest, c[n:len(acc)], k[2], false)
		bad |= quantizeAddGo(rest, d[n:len(acc)], k[3], false)
	}
	return bad
}

// coefOf is delta i's multiplier, 1 when the job has none.
func (j *job) coefOf(i int) float32 {
	if j.coef == nil {
		return 1
	}
	return j.coef[i]
}

// sumBuf returns an int64 accumulator of n values.
func (s *scratch) sumBuf(n int) []int64 {
	if s == nil {
		return make([]int64, n)
	}
	if cap(s.sum) < n {
		s.sum = make([]int64, n)
	}
	return s.sum[:n]
}

// firstOutOfRange returns the index and value of v's first element (after
// multiplying by k) that a mean rule cannot add.
func firstOutOfRange(v []float32, k float32) (int, float32, bool) {
	for i, d := range v {
		x := d
		if k != 1 {
			x = float32(k * d)
		}
		if math.Float32bits(x)&expMask >= rangeExp {
			return i, x, true
		}
	}
	return 0, 0, false
}

// rangeError describes a value a mean rule cannot add.
func rangeError(i int, x float32) error {
	if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
		return fmt.Errorf("%w: element %d is %v", ErrNonFinite, i, x)
	}
	return fmt.Errorf("%w: element %d is %v (a mean adds values below %d in magnitude)", ErrRange, i, x, SumLimit)
}
