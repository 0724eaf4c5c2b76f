package deltaenc

import (
	"math"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// toHalf rounds a finite float32 to IEEE binary16, to nearest, ties to
// even; ok is false when the result overflows to infinity.
func toHalf(f float32) (h uint16, ok bool) {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127
	mant := b & 0x7fffff
	switch {
	case exp >= -14:
		return normalHalf(sign, exp, mant)
	case exp < -25:
		return sign, true // below half the smallest subnormal: ±0
	}
	// Subnormal half: the value is q * 2^-24 with q = full * 2^(exp+1).
	full := mant | 0x800000
	s := uint(-exp - 1) // 14..24
	q := full >> s
	rem, half := full&(1<<s-1), uint32(1)<<(s-1)
	if rem > half || rem == half && q&1 == 1 {
		q++ // may carry into the smallest normal, which encodes the same way
	}
	return sign | uint16(q), true
}

func normalHalf(sign uint16, exp int, mant uint32) (uint16, bool) {
	e := uint32(exp + 15)
	r, rem := mant>>13, mant&0x1fff
	if rem > 0x1000 || rem == 0x1000 && r&1 == 1 {
		r++
		if r == 0x400 {
			r, e = 0, e+1
		}
	}
	if e >= 31 {
		return 0, false
	}
	return sign | uint16(e<<10|r), true
}

// fromHalf converts IEEE binary16 to float32 exactly (the same conversion
// checkpoint applies to F16 tensors).
func fromHalf(h uint16) float32 { return checkpoint.HalfToFloat32(h) }

// toBF16 rounds a finite float32 to bfloat16 (its top 16 bits), to
// nearest, ties to even; ok is false when the result overflows.
func toBF16(f float32) (uint16, bool) {
	b := math.Float32bits(f)
	b += 0x7fff + (b>>16)&1
	h := uint16(b >> 16)
	return h, h&0x7f80 != 0x7f80
}

func fromBF16(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// quantize writes one row as int8 with scale maxabs/127 (float32
// division), each value round(x/scale) to nearest even, clamped to
// ±127, and returns the scale. An all-zero row has scale 0. q may be the
// int8 values or their bytes (two's complement) as a file stores them.
func quantize[T int8 | byte](row []float32, q []T) float32 {
	var m float32
	for _, x := range row {
		m = max(m, float32(math.Abs(float64(x))))
	}
	s := m / 127
	for i, x := range row {
		if s == 0 {
			q[i] = 0
			continue
		}
		r := math.RoundToEven(float64(x / s))
		q[i] = T(int8(min(max(r, -127), 127)))
	}
	return s
}

// dequantize is q times the row's scale: one float32 multiply, rounded
// once; the explicit conversion keeps any compiler from fusing it with
// a later addition.
func dequantize(q int8, s float32) float32 {
	return float32(float32(q) * s)
}
