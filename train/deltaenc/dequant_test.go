package deltaenc

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The vector dequantize loop gives the Go loop's bits for every int8 and
// scales of every kind (zero, subnormal, tiny, huge), at every length and
// misalignment.
func TestDequantizeRowMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	raw := make([]byte, 300)
	for i := range raw {
		raw[i] = byte(i) // every int8, then more
	}
	scales := []float32{0, math.Float32frombits(1), math.Float32frombits(0x007fffff), 1e-38, 1.0 / 127, 0.3, 1, 3.4e38 / 128}
	for range 20 {
		scales = append(scales, float32(math.Exp(rng.Float64()*80-60)))
	}
	for _, s := range scales {
		for _, span := range [][2]int{{0, 300}, {1, 300}, {3, 20}, {0, 7}, {5, 5}, {17, 270}} {
			src := raw[span[0]:span[1]]
			got, want := make([]float32, len(src)), make([]float32, len(src))
			dequantizeRow(got, src, s)
			for i, b := range src {
				want[i] = dequantize(int8(b), s)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("scale %v, span %v, value %d (q %d): %v, want %v", s, span, i, int8(src[i]), got[i], want[i])
				}
			}
		}
	}
	if !useDequantizeVector {
		t.Log("no vector loop on this processor: compared the Go loop with itself")
	}
}

// BenchmarkDequantize decodes 10M int8 values in rows of 1816 (the 10m
// body's) with the Go loop and the vector loop, in one run; MB/s are of
// the float32 written.
//
// go test -run '^$' -bench Dequantize ./train/deltaenc
func BenchmarkDequantize(b *testing.B) {
	const cols, rows = 1816, 5520
	raw, dst := make([]byte, cols*rows), make([]float32, cols*rows)
	rng := rand.New(rand.NewPCG(2, 2))
	for i := range raw {
		raw[i] = byte(rng.IntN(256))
	}
	for _, vector := range []bool{false, true} {
		name := map[bool]string{false: "go", true: "vector"}[vector]
		b.Run(name, func(b *testing.B) {
			if vector && !haveDequantizeVector {
				b.Skip("no vector loop on this processor")
			}
			useDequantizeVector = vector
			defer func() { useDequantizeVector = haveDequantizeVector }()
			b.SetBytes(4 * cols * rows)
			for b.Loop() {
				for r := 0; r < rows; r++ {
					dequantizeRow(dst[r*cols:(r+1)*cols], raw[r*cols:(r+1)*cols], 0.01)
				}
			}
		})
	}
}
