package fusion

import (
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
)

// BenchmarkFuseEncoded times Fuse (mean, all workers) of four bag-sized
// deltas (a 32768 x 64 embedding, 15% of rows touched, and a dense
// 64 x 64 layer) read as dense float32 files and as each encoding, in the
// same loop so every side sees the same machine load; it reports each
// encoding's fastest time over the dense files' fastest (x_dense).
//
//	go test ./consensus/fusion -run '^$' -bench FuseEncoded -benchtime 5x
func BenchmarkFuseEncoded(b *testing.B) {
	rng := rand.New(rand.NewPCG(8, 8))
	gen := func(scale float64, touched float64) *checkpoint.File {
		emb := make([]float32, 32768*64)
		for r := range 32768 {
			if rng.Float64() < touched {
				for c := range 64 {
					emb[r*64+c] = float32(scale * rng.NormFloat64())
				}
			}
		}
		w := make([]float32, 64*64)
		for i := range w {
			w[i] = float32(scale * rng.NormFloat64())
		}
		return &checkpoint.File{Tensors: []checkpoint.Tensor{
			checkpoint.NewF32("body.embed.weight", []int{32768, 64}, emb), checkpoint.NewF32("body.mlp.0.weight", []int{64, 64}, w)}}
	}
	baseB, _ := checkpoint.Encode(gen(1, 1))
	base, _ := checkpoint.OpenBytes(baseB)
	encs := []string{"dense", "fp16", "rows", "rows+fp16", "rows+int8", "rows+int8+zstd"}
	inputs := make([][]Input, len(encs))
	for k := range 4 {
		d := gen(0.01, 0.15)
		for i, s := range encs {
			e, _ := deltaenc.Parse(s)
			bs, err := deltaenc.Encode(d, e)
			if err != nil {
				b.Fatal(err)
			}
			r, err := OpenDelta(bs, base)
			if err != nil {
				b.Fatal(err)
			}
			inputs[i] = append(inputs[i], Input{ID: string(rune('a' + k)), Delta: r})
		}
	}
	best := make([]time.Duration, len(encs))
	for b.Loop() {
		for i := range encs {
			start := time.Now()
			if _, err := Fuse(io.Discard, base, inputs[i], DefaultRule); err != nil {
				b.Fatal(err)
			}
			if d := time.Since(start); best[i] == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	for i, s := range encs {
		b.ReportMetric(float64(best[i])/float64(best[0]), s+"_x_dense")
	}
	b.ReportMetric(float64(best[0].Microseconds())/1000, "dense_ms")
}
