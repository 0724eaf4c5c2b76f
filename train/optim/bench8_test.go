package optim

import "testing"

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
