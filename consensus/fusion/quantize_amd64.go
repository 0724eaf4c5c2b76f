package fusion

import "golang.org/x/sys/cpu"

// haveQuantizeVector reports whether quantizeAVX2 can run here.
var haveQuantizeVector = cpu.X86.HasAVX2

// quantizeAVX2 is quantizeAdd's loop over the first len(acc) &^ 7 values,
// subtracting when neg. len(v) must be >= len(acc).
//
//go:noescape
func quantizeAVX2(acc []int64, v []float32, k float32, neg bool) uint32

// quantize4AVX2 adds four deltas' q over the first len(acc) &^ 7 values,
// without zeroing bad values (see quantize4).
//
//go:noescape
func quantize4AVX2(acc []int64, a, b, c, d []float32, k *[4]float32) uint32

// finishAVX2 is finishMean's loop while the sums are below 2^51: it
// returns the count of values written and, in bit 63, a non-finite flag.
//
//go:noescape
func finishAVX2(out, base []float32, acc []int64, div float64) uint64

// quantize4PlainAVX2 is quantize4AVX2 with every multiplier 1.
//
//go:noescape
func quantize4PlainAVX2(acc []int64, a, b, c, d []float32) uint32

// squaresAVX2 adds the squares of v (len(v) a multiple of 16) to lanes,
// v[i] to lanes[i mod 16], in Squares.Add's order.
//
//go:noescape
func squaresAVX2(lanes *[16]float64, v []float32)
