package optim

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkDense compares one AdamW step over a million weights with each
// moment precision (ns/op against fp32 in the same run).
func BenchmarkDense(b *testing.B) {
	for _, p := range []Precision{FP32, BF16, INT8} {
		b.Run(p.String(), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Moments = p
			a, _ := New(cfg)
			const n = 1 << 20
			w, g := make([]float32, n), make([]float32, n)
			for i := range g {
				g[i] = float32(i%97)/97 - 0.5
			}
			b.SetBytes(4 * n)
			for b.Loop() {
				a.Begin()
				a.Dense("w", w, g, 1e-3)
			}
		})
	}
}

// BenchmarkSparse is one AdamW step on 1,000 random rows of a 131,072 x
// 64 embedding table (the default bag model's step touches about as
// many), per precision; the tables are far larger than the caches, so
// this measures how well the update hides misses to memory.
func BenchmarkSparse(b *testing.B) {
	for _, p := range []Precision{FP32, BF16, INT8} {
		b.Run(p.String(), func(b *testing.B) {
			const rows, dim, touched = 131072, 64, 1000
			cfg := DefaultConfig()
			cfg.Moments = p
			a, _ := New(cfg)
			w := make([]float32, rows*dim)
			rng := rand.New(rand.NewPCG(1, 2))
			sets := make([][]int32, 64)
			for i := range sets {
				for _, r := range rng.Perm(rows)[:touched] {
					sets[i] = append(sets[i], int32(r))
				}
			}
			g := make([]float32, touched*dim)
			for i := range g {
				g[i] = float32(rng.NormFloat64())
			}
			for _, set := range sets { // first touch of the moments, off the clock
				a.Begin()
				a.Sparse("e", w, dim, set, g, 1e-3)
			}
			k := 0
			for b.Loop() {
				a.Begin()
				a.Sparse("e", w, dim, sets[k%len(sets)], g, 1e-3)
				k++
			}
		})
	}
}
