package model

import (
	"fmt"
	"testing"

	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/token"
)

// BenchmarkStep measures one training step (forward, backward, gradients
// read back) of the default-sized bag and a small encoder, batch 64.
func BenchmarkStep(b *testing.B) {
	tk := token.Config{Buckets: 1 << 17, Bigrams: true}
	etk := token.Config{Buckets: 1 << 15, MaxLen: 32}
	for _, c := range []Config{
		{Arch: Bag, Token: &tk, Dim: 64, Hidden: 64, Layers: 1, Classes: 2},
		{Arch: Encoder, Token: &etk, Dim: 64, Hidden: 128, Layers: 2, Heads: 4, SeqLen: 32, Classes: 2},
	} {
		b.Run(c.Arch, func(b *testing.B) { benchStep(b, c) })
	}
}

func benchStep(b *testing.B, c Config) {
	body, _ := InitBody(c, 1)
	head, _ := InitHead(c, 2)
	w, err := NewWeights(c, body, head)
	if err != nil {
		b.Fatal(err)
	}
	n, err := NewNet(w, 64, Full)
	if err != nil {
		b.Fatal(err)
	}
	var ex []data.Example
	idx := make([]int, 64)
	for i := range idx {
		idx[i] = i
		ex = append(ex, data.Example{Text: fmt.Sprintf("this is sentence %d of the benchmark with some words %d", i, i*i), Label: i % 2})
	}
	in, err := NewInputs(c, ex)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.Step(in, idx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "examples/s")
}
