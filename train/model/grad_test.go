package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/token"
)

// tiny returns a small config of arch with random weights and a few inputs.
func tiny(t *testing.T, arch string) (*Net, *Inputs) {
	t.Helper()
	tk := token.Config{Buckets: 32, Bigrams: true}
	c := Config{Arch: arch, Token: &tk, Dim: 8, Hidden: 6, Layers: 2, Classes: 3}
	switch arch {
	case MLP:
		c = Config{Arch: MLP, Features: 5, InputScale: 0.5, Dim: 6, Hidden: 6, Layers: 2, Classes: 3}
	case Encoder:
		tk.MaxLen = 6
		c = Config{Arch: Encoder, Token: &tk, Dim: 8, Hidden: 12, Layers: 2, Heads: 2, SeqLen: 6, Classes: 3}
	}
	w := tinyWeights(t, c)
	ex := []data.Example{
		{Text: "the cat sat on the mat", Label: 0}, {Text: "a dog", Label: 2},
		{Text: "", Label: 1}, {Text: "cats and dogs and cats again and more", Label: 1},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range ex {
		for range c.Features {
			ex[i].Features = append(ex[i].Features, float32(rng.NormFloat64()))
		}
	}
	in, err := NewInputs(c, ex)
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNet(w, 5, Full)
	if err != nil {
		t.Fatal(err)
	}
	return n, in
}

func tinyWeights(t *testing.T, c Config) *Weights {
	t.Helper()
	body, err := InitBody(c, 7)
	if err != nil {
		t.Fatal(err)
	}
	head, err := InitHead(c, 8)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWeights(c, body, head)
	if err != nil {
		t.Fatal(err)
	}
	// Break the symmetry of zero biases and unit gains.
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range w.Specs() {
		for i, v := range w.Get(s.Name) {
			w.Get(s.Name)[i] = v + 0.3*float32(rng.NormFloat64())
		}
	}
	return w
}

// lossAt is the loss of the batch with the weights as they are now.
func lossAt(t *testing.T, n *Net, in *Inputs, idx []int) float64 {
	l, err := n.Step(in, idx)
	if err != nil {
		t.Fatal(err)
	}
	return float64(l)
}

// checkGrad compares an analytic gradient with central differences at a few
// elements of w.
func checkGrad(t *testing.T, name string, w []float32, grad func(i int) float32, loss func() float64, picks []int) {
	t.Helper()
	const h = 1e-3
	for _, i := range picks {
		want := grad(i)
		old := w[i]
		w[i] = old + h
		up := loss()
		w[i] = old - h
		down := loss()
		w[i] = old
		num := (up - down) / (2 * h)
		if math.Abs(num-float64(want)) > 2e-3+0.03*math.Abs(num) {
			t.Errorf("%s[%d]: analytic %.6f, numeric %.6f", name, i, want, num)
		}
	}
}

func TestGradientsMatchFiniteDifferences(t *testing.T) {
	for _, arch := range []string{MLP, Bag, Encoder} {
		t.Run(arch, func(t *testing.T) {
			n, in := tiny(t, arch)
			idx := []int{0, 1, 2, 3}
			loss := func() float64 { return lossAt(t, n, in, idx) }
			loss()
			for _, p := range n.Dense() {
				g := append([]float32(nil), p.G...)
				checkGrad(t, p.Name, p.W, func(i int) float32 { return g[i] }, loss, picks(len(p.W)))
			}
			checkSparse(t, n, loss)
		})
	}
}

func checkSparse(t *testing.T, n *Net, loss func() float64) {
	loss()
	w, rows, grad, ok := n.Sparse()
	if !ok {
		return
	}
	if len(rows) == 0 {
		t.Fatal("no embedding rows touched")
	}
	d := n.W.Config.Dim
	dense := map[int]float32{}
	for k, r := range rows {
		for j := 0; j < d; j++ {
			dense[int(r)*d+j] = grad[k*d+j]
		}
	}
	var p []int
	for k := 0; k < len(rows) && k < 4; k++ {
		p = append(p, int(rows[k])*d+k%d)
	}
	p = append(p, untouched(rows, n.W.Config.Token.Buckets)*d)
	checkGrad(t, "body.embed.weight", w, func(i int) float32 { return dense[i] }, loss, p)
}

func untouched(rows []int32, buckets int) int {
	seen := map[int32]bool{}
	for _, r := range rows {
		seen[r] = true
	}
	for i := range buckets {
		if !seen[int32(i)] {
			return i
		}
	}
	panic(fmt.Sprintf("all %d rows touched", buckets))
}

func picks(n int) []int {
	if n <= 6 {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	return []int{0, 1, n / 3, n / 2, n - 2, n - 1}
}
