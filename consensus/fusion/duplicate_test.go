package fusion

import (
	"bytes"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// Two contributions may carry byte-identical deltas (two peers with the same
// data and seed). Both count, and the result does not depend on their order,
// even when they claim different example counts under the weighted rule.
func TestSameDeltaTwiceCounts(t *testing.T) {
	base := func() *checkpoint.Reader { return open(t, vec("body.a", []float32{0, 0})) }
	d := func() *checkpoint.Reader { return open(t, vec("body.a", []float32{3, 6})) }
	e := func() *checkpoint.Reader { return open(t, vec("body.a", []float32{0, 3})) }
	got := fuseBytes(t, base(), []Input{{ID: "d", Delta: d()}, {ID: "d", Delta: d()}, {ID: "e", Delta: e()}}, mustRule(t, "mean"), 1)
	want, err := checkpoint.Encode(vec("body.a", []float32{2, 5}))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("mean of d, d, e: got %x, want %x", got, want)
	}
	weighted := mustRule(t, "weighted")
	a := fuseBytes(t, base(), []Input{{ID: "d", Examples: 1, Delta: d()}, {ID: "d", Examples: 7, Delta: d()}, {ID: "e", Examples: 3, Delta: e()}}, weighted, 1)
	b := fuseBytes(t, base(), []Input{{ID: "e", Examples: 3, Delta: e()}, {ID: "d", Examples: 7, Delta: d()}, {ID: "d", Examples: 1, Delta: d()}}, weighted, 1)
	if !bytes.Equal(a, b) {
		t.Fatal("weighted fusion of a repeated delta depends on input order")
	}
}
