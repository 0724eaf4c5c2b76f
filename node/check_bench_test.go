package node

import (
	"math/rand/v2"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// BenchmarkCheckDeltaVsCopy checks a 40 MB dense delta (the 10M-parameter
// body of `coldnode bench round`) and, in the same run, copies its bytes:
// the ratio copy/check tells how close the check is to one memory pass.
func BenchmarkCheckDeltaVsCopy(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	v := make([]float32, 10<<20)
	for i := range v {
		v[i] = float32(rng.NormFloat64()) * 1e-3
	}
	data, err := checkpoint.Encode(&checkpoint.File{Tensors: []checkpoint.Tensor{
		checkpoint.NewF32("body.w", []int{len(v) / 1024, 1024}, v)}})
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, len(data))
	b.Run("check", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := checkDelta(data, 1e6); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			copy(dst, data)
		}
	})
}
