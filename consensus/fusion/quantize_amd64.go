package fusion

import "golang.org/x/sys/cpu"

// haveQuantizeVector reports whether quantizeAVX2 can run here.
var haveQuantizeVector = cpu.X86.HasAVX2

// quantizeAVX2 is quantizeAdd's loop over the first len(acc) &^ 7 values,
// subtracting when neg. len(v) must be >= len(acc).
//
//go:noescape
func quantizeAVX2(acc []int64, v []float32, k float32, neg bool) uint32
