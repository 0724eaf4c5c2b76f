package model

import (
	"math"
	"slices"
	"testing"
)

// A net's programs run again in the buffers of their last run (rewind, not
// Reset). The gradients and logits of a batch must not depend on what ran
// before: a net that first ran other batches (a shorter one included, whose
// padding rows are zero) gives the same bits as a fresh net.
func TestRunsDoNotDependOnEarlierRuns(t *testing.T) {
	for _, arch := range []string{MLP, Bag, Encoder} {
		t.Run(arch, func(t *testing.T) {
			used, in := tiny(t, arch)
			if used.train.pc == nil || used.infer.pc == nil {
				t.Fatal("the tape machine's program counter was not found: every run allocates its values anew")
			}
			for _, idx := range [][]int{{3, 2, 1, 0}, {1}, {2, 2, 3}} {
				if _, err := used.Step(in, idx); err != nil {
					t.Fatal(err)
				}
				if _, err := used.Logits(in, idx); err != nil {
					t.Fatal(err)
				}
			}
			fresh, _ := tiny(t, arch)
			batch := []int{0, 1, 2, 3}
			a, b := gradsOf(t, used, in, batch), gradsOf(t, fresh, in, batch)
			for name, g := range b {
				if !sameBits(a[name], g) {
					t.Errorf("gradient of %s differs after earlier runs", name)
				}
			}
			la, _ := used.Logits(in, batch)
			la = slices.Clone(la)
			lb, _ := fresh.Logits(in, batch)
			if !sameBits(la, lb) {
				t.Error("logits differ after earlier runs")
			}
		})
	}
}

func gradsOf(t *testing.T, n *Net, in *Inputs, idx []int) map[string][]float32 {
	t.Helper()
	if _, err := n.Step(in, idx); err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, p := range n.Dense() {
		out[p.Name] = slices.Clone(p.G)
	}
	if _, rows, g, ok := n.Sparse(); ok {
		dense := make([]float32, n.W.Config.Token.Buckets*n.W.Config.Dim)
		d := n.W.Config.Dim
		for k, r := range rows {
			copy(dense[int(r)*d:int(r+1)*d], g[k*d:(k+1)*d])
		}
		out["body.embed.weight"] = dense
	}
	return out
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
