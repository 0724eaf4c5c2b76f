package deltaenc

import "golang.org/x/sys/cpu"

// haveDequantizeVector reports whether dequantizeAVX2 can run here.
var haveDequantizeVector = cpu.X86.HasAVX2

// dequantizeAVX2 sets dst[i] = dequantize(int8(src[i]), s) for the first
// len(dst) &^ 7 values. len(src) must be >= len(dst).
//
//go:noescape
func dequantizeAVX2(dst []float32, src []byte, s float32)
