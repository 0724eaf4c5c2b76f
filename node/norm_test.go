package node

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// laneNorm.within never accepts a delta normSum would find over the
// bound, whatever the values and their split into tensors, and accepts a
// delta whose norm is a millionth below it.
func TestLaneNormWithinIsSafe(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for trial := range 300 {
		v := make([]float32, 1+rng.IntN(5000))
		scale := math.Exp(rng.Float64()*60 - 40)
		for i := range v {
			v[i] = float32(scale * rng.NormFloat64())
		}
		var seq normSum
		var lanes laneNorm
		for lo, k := 0, 0; lo < len(v); k++ {
			hi := min(len(v), lo+1+rng.IntN(700))
			name := fmt.Sprint("t", k)
			if err := seq.add(name, lo, v[lo:hi]); err != nil {
				t.Fatal(err)
			}
			_ = lanes.add(name, lo, v[lo:hi])
			lo = hi
		}
		norm := math.Sqrt(seq.total())
		for _, b := range []float64{norm, math.Nextafter(norm, 0), math.Nextafter(norm, 2*norm), norm * (1 + 1e-12), norm * (1 - 1e-12)} {
			if lanes.within(b) && norm > b {
				t.Fatalf("trial %d: within bound %v, but normSum's norm is %v", trial, b, norm)
			}
		}
		if !lanes.within(norm*(1+1e-6)) || lanes.within(norm*(1-1e-6)) || !lanes.within(0) {
			t.Fatalf("trial %d (%d values): not decided a millionth from the bound", trial, len(v))
		}
	}
}
