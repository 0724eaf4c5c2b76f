package model

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestSoftmaxGradient checks the row softmax ops against finite differences
// in float64 arithmetic of the same loss, sum(w * softmax(x)).
func TestSoftmaxGradient(t *testing.T) {
	for _, log := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(5, 6))
		xv, wv := make([]float32, 2*3*4), make([]float32, 2*3*4)
		for i := range xv {
			xv[i], wv[i] = float32(rng.NormFloat64()*2), float32(rng.NormFloat64())
		}
		if !log {
			xv[5] = -1e9 // a masked entry must not make NaN
		}
		g := G.NewGraph()
		x := G.NodeFromAny(g, tensor.New(tensor.WithShape(2, 3, 4), tensor.WithBacking(xv)), G.WithName("x"))
		w := G.NodeFromAny(g, tensor.New(tensor.WithShape(2, 3, 4), tensor.WithBacking(wv)), G.WithName("w"))
		y := G.Must(softmax(x, log))
		loss := G.Must(G.Sum(G.Must(G.HadamardProd(y, w))))
		if _, err := G.Grad(loss, x); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g, G.BindDualValues(x))
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		gv, _ := x.Grad()
		dx := gv.Data().([]float32)
		for i := range xv {
			if i == 5 && !log {
				continue
			}
			num := numericRow(xv, wv, i, log)
			if math.Abs(num-float64(dx[i])) > 1e-4 {
				t.Errorf("log=%v x[%d]: analytic %v, numeric %v", log, i, dx[i], num)
			}
		}
	}
}

func numericRow(x, w []float32, i int, log bool) float64 {
	f := func(d float64) float64 {
		r := i / 4 * 4
		row := make([]float64, 4)
		m := math.Inf(-1)
		for k := range row {
			row[k] = float64(x[r+k])
			if r+k == i {
				row[k] += d
			}
			m = math.Max(m, row[k])
		}
		var s, out float64
		for k := range row {
			s += math.Exp(row[k] - m)
		}
		for k := range row {
			v := math.Exp(row[k]-m) / s
			if log {
				v = row[k] - m - math.Log(s)
			}
			out += v * float64(w[r+k])
		}
		return out
	}
	const h = 1e-5
	return (f(h) - f(-h)) / (2 * h)
}
