package deltaenc

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refHalf rounds x to binary16 by search: the nearest of the two halves
// around |x| (ties to the even one), computed in float64, where every
// difference here is exact.
func refHalf(x float32) (uint16, bool) {
	sign := uint16(0)
	if math.Signbit(float64(x)) {
		sign = 0x8000
	}
	a := math.Abs(float64(x))
	if a >= 65520 { // 65504 + half an ulp (16) ties to even: infinity
		return 0, false
	}
	lo, hi := uint16(0), uint16(0x7bff)
	for lo < hi { // largest h with value(h) <= a
		mid := (lo + hi + 1) / 2
		if float64(fromHalf(mid)) <= a {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0x7bff {
		return sign | lo, true
	}
	d0, d1 := a-float64(fromHalf(lo)), float64(fromHalf(lo+1))-a
	if d1 < d0 || d1 == d0 && lo&1 == 1 {
		lo++
	}
	return sign | lo, true
}

func refBF16(x float32) (uint16, bool) {
	b := math.Float32bits(x)
	lo := b &^ 0xffff
	a := math.Abs(float64(x))
	l, h := math.Abs(float64(math.Float32frombits(lo))), math.Abs(float64(math.Float32frombits(lo)))
	hb := lo + 0x10000
	if lo&0x7f800000 != 0x7f800000 {
		h = math.Abs(float64(math.Float32frombits(hb)))
		if hb&0x7f800000 == 0x7f800000 {
			h = math.Ldexp(1, 128) // the overflow threshold as a value
		}
	}
	r := lo
	if d0, d1 := a-l, h-a; d1 < d0 || d1 == d0 && (lo>>16)&1 == 1 {
		r = hb
	}
	v := uint16(r >> 16)
	return v, v&0x7f80 != 0x7f80
}

// samples are random float32 bit patterns (finite) and the boundaries
// where rounding changes: ties, subnormal and overflow edges.
func samples() []float32 {
	rng := rand.New(rand.NewPCG(1, 2))
	var out []float32
	for range 300_000 {
		x := math.Float32frombits(rng.Uint32())
		if !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) {
			out = append(out, x)
		}
	}
	for range 100_000 { // values in the half range, where rounding matters
		out = append(out, float32(rng.NormFloat64()*math.Pow(2, float64(rng.IntN(40)-25))))
	}
	for h := range uint32(0x7c00) { // every finite half, its neighbours and midpoints
		v := float64(fromHalf(uint16(h)))
		next := float64(fromHalf(uint16(h + 1)))
		mid := float32((v + next) / 2)
		out = append(out, float32(v), mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1e9), -mid)
	}
	return append(out, 0, float32(math.Copysign(0, -1)), 65504, 65519.99, 65520, -65520, 1e-8, 2.98e-8, 5.96e-8,
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32)
}

func TestToHalfMatchesReference(t *testing.T) {
	for _, x := range samples() {
		got, ok := toHalf(x)
		want, wok := refHalf(x)
		if ok != wok || ok && got != want {
			t.Fatalf("toHalf(%v = %#08x) = %#04x %v, want %#04x %v", x, math.Float32bits(x), got, ok, want, wok)
		}
	}
}

func TestHalfRoundTripExact(t *testing.T) {
	for h := range uint32(1 << 16) {
		x := fromHalf(uint16(h))
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			continue
		}
		if got, ok := toHalf(x); !ok || got != uint16(h) {
			t.Fatalf("toHalf(fromHalf(%#04x) = %v) = %#04x", h, x, got)
		}
	}
}

func TestToBF16MatchesReference(t *testing.T) {
	for _, x := range samples() {
		got, ok := toBF16(x)
		want, wok := refBF16(x)
		if ok != wok || ok && got != want {
			t.Fatalf("toBF16(%v = %#08x) = %#04x %v, want %#04x %v", x, math.Float32bits(x), got, ok, want, wok)
		}
	}
}

// Every int8 value decodes within half a step of the original; the row's
// largest magnitude maps to ±127 exactly at the scale maxabs/127.
func TestQuantizeBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 2000 {
		row := make([]float32, 1+rng.IntN(70))
		mag := math.Pow(10, float64(rng.IntN(12)-9))
		for i := range row {
			row[i] = float32(rng.NormFloat64() * mag)
		}
		if trial%50 == 0 {
			clear(row)
		}
		q := make([]int8, len(row))
		s := quantize(row, q)
		var m float32
		for _, x := range row {
			m = max(m, float32(math.Abs(float64(x))))
		}
		if s != m/127 {
			t.Fatalf("scale %v, want maxabs/127 = %v", s, m/127)
		}
		for i, x := range row {
			d := math.Abs(float64(dequantize(q[i], s)) - float64(x))
			if d > 0.5001*float64(s)+1e-45 {
				t.Fatalf("trial %d: %v -> %d*%v, error %v > half a step", trial, x, q[i], s, d)
			}
			if q[i] < -127 {
				t.Fatalf("q = %d", q[i])
			}
		}
	}
}
