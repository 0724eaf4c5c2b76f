package model

import (
	"fmt"
	"math"
	"testing"

	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/token"
)

// TestEncoderPaddingStaysFinite runs texts of 0..39 tokens (truncated to 32)
// through an encoder, so rows are empty, short and padded: every loss and
// logit must be finite (gorgonia's own softmax gave NaN here).
func TestEncoderPaddingStaysFinite(t *testing.T) {
	tk := token.Config{Buckets: 1 << 12, MaxLen: 32}
	c := Config{Arch: Encoder, Token: &tk, Dim: 16, Hidden: 32, Layers: 2, Heads: 4, SeqLen: 32, Classes: 2}
	var ex []data.Example
	for i := 0; i < 80; i++ {
		s := ""
		for j := 0; j < i%40; j++ {
			s += fmt.Sprintf("w%d ", (i*7+j*13)%500)
		}
		ex = append(ex, data.Example{Text: s, Label: i % 2})
	}
	in, err := NewInputs(c, ex)
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNet(tinyWeights(t, c), 48, Full)
	if err != nil {
		t.Fatal(err)
	}
	idx := []int{}
	for i := 0; i < 45; i++ {
		idx = append(idx, i)
	}
	l, err := n.Step(in, idx)
	if err != nil || math.IsNaN(float64(l)) {
		t.Fatalf("loss %v, %v", l, err)
	}
	sc, err := n.Logits(in, idx)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range sc {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("logit %d of example %d is %v", i%2, i/2, v)
		}
	}
}
