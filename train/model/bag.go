package model

import (
	"gonum.org/v1/gonum/blas/gonum"
	"slices"
)

// vec adds rows with gonum's SIMD axpy; with alpha 1 the product is exact, so
// the sums are the same bits as a scalar loop on every processor.
var vec gonum.Implementation

// fill writes the graph input for the examples idx; rows past len(idx) are zero.
func (n *Net) fill(g *graph, in *Inputs, idx []int) {
	x := g.xT.Data().([]float32)
	clear(x)
	switch n.W.Config.Arch {
	case Bag:
		n.pool(x, in, idx)
	case Encoder:
		n.fillEncoder(g, x, in, idx)
	case MLP:
		f := n.W.Config.Features
		for r, i := range idx {
			copy(x[r*f:(r+1)*f], in.feats[i*f:(i+1)*f])
		}
	}
}

// pool writes the mean embedding of each example's tokens (zero for none).
func (n *Net) pool(x []float32, in *Inputs, idx []int) {
	d := n.W.Config.Dim
	emb := n.W.Get("body.embed.weight")
	for r, i := range idx {
		row := x[r*d : (r+1)*d]
		ids := in.Tokens(i)
		for _, id := range ids {
			vec.Saxpy(d, 1, emb[int(id)*d:int(id+1)*d], 1, row, 1)
		}
		if len(ids) > 0 {
			cnt := float32(len(ids))
			for k := range row {
				row[k] /= cnt
			}
		}
	}
}

// sparseGrad accumulates gradient rows of an embedding table.
type sparseGrad struct {
	dim   int
	share []float32 // scratch: one example's gradient share per token
	slot  []int32   // row -> index in rows, or -1
	rows  []int32
	grad  []float32
}

func newSparseGrad(rows, dim int) *sparseGrad {
	s := &sparseGrad{dim: dim, slot: make([]int32, rows), share: make([]float32, dim)}
	for i := range s.slot {
		s.slot[i] = -1
	}
	return s
}

func (s *sparseGrad) reset() {
	for _, r := range s.rows {
		s.slot[r] = -1
	}
	s.rows, s.grad = s.rows[:0], s.grad[:0]
}

// row returns the gradient row of id, adding a zero row on first touch.
func (s *sparseGrad) row(id int32) []float32 {
	k := s.slot[id]
	if k < 0 {
		k = int32(len(s.rows))
		s.slot[id] = k
		s.rows = append(s.rows, id)
		n := len(s.grad)
		s.grad = slices.Grow(s.grad, s.dim)[:n+s.dim]
		clear(s.grad[n:])
	}
	return s.grad[int(k)*s.dim : int(k+1)*s.dim]
}

// backEmbed spreads the gradient of the pooled input over the tokens.
func (n *Net) backEmbed(in *Inputs, idx []int) error {
	dx, err := n.train.grad(len(n.train.wrt) - 1)
	if err != nil {
		return err
	}
	n.embed.reset()
	if n.W.Config.Arch == Encoder {
		n.backEncoder(dx, in, idx)
		return nil
	}
	d := n.W.Config.Dim
	share := n.embed.share[:d]
	for r, i := range idx {
		ids := in.Tokens(i)
		cnt := float32(len(ids))
		for k := range share {
			share[k] = dx[r*d+k] / cnt
		}
		for _, id := range ids {
			vec.Saxpy(d, 1, share, 1, n.embed.row(id), 1)
		}
	}
	return nil
}
