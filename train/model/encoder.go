package model

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The encoder: token embeddings plus learned positions are gathered in Go
// (sparse rows, like the bag), then gorgonia runs embedding layer norm, post-LN
// Transformer blocks (multi-head self-attention, ReLU feed-forward) and
// masked mean pooling into the head. Two extra inputs carry the padding: an
// additive attention mask over keys and the pooling weights.

const (
	auxMask = iota // (batch*heads, seq, seq): 0 for real keys, -1e9 for padding
	auxPool        // (batch, 1, seq): 1/len for real tokens, 0 for padding
	maskOff = -1e9
	lnEps   = 1e-5
)

func encoderGraph(b *graphBuilder) (*G.Node, error) {
	c := b.w.Config
	mask, mt := b.input("mask", b.batch*c.Heads, c.SeqLen, c.SeqLen)
	pool, pt := b.input("pool", b.batch, 1, c.SeqLen)
	b.aux = []*tensor.Dense{mt, pt}
	e := &errs{}
	h := b.layerNorm(e, b.x, "body.embed_ln")
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("body.layer.%d.", l)
		a := b.attention(e, h, mask, p+"attn.")
		h = b.layerNorm(e, e.do(G.Add(h, a)), p+"ln1")
		f := e.do(G.Rectify(b.lin(e, h, p+"ff1")))
		h = b.layerNorm(e, e.do(G.Add(h, b.lin(e, f, p+"ff2"))), p+"ln2")
	}
	h3 := e.do(G.Reshape(h, tensor.Shape{b.batch, c.SeqLen, c.Dim}))
	pooled := e.do(G.Reshape(e.do(G.BatchedMatMul(pool, h3)), tensor.Shape{b.batch, c.Dim}))
	if e.err != nil {
		return nil, e.err
	}
	return b.linear(pooled, "head")
}

// errs keeps the first error of a chain of graph constructions.
type errs struct{ err error }

func (e *errs) do(n *G.Node, err error) *G.Node {
	if e.err == nil && err != nil {
		e.err = err
	}
	return n
}

func (b *graphBuilder) lin(e *errs, x *G.Node, prefix string) *G.Node {
	if e.err != nil {
		return x
	}
	return e.do(b.linear(x, prefix))
}

// layerNorm normalises each row of x (n x dim) and applies gain and bias.
func (b *graphBuilder) layerNorm(e *errs, x *G.Node, prefix string) *G.Node {
	if e.err != nil {
		return x
	}
	n := x.Shape()[0]
	col := tensor.Shape{n, 1}
	mu := e.do(G.Reshape(e.do(G.Mean(x, 1)), col))
	cen := e.do(G.BroadcastSub(x, mu, nil, []byte{1}))
	v := e.do(G.Reshape(e.do(G.Mean(e.do(G.Square(cen)), 1)), col))
	std := e.do(G.Sqrt(e.do(G.Add(v, G.NewConstant(float32(lnEps))))))
	y := e.do(G.BroadcastHadamardDiv(cen, std, nil, []byte{1}))
	y = e.do(G.BroadcastHadamardProd(y, b.param(prefix+".weight"), nil, []byte{0}))
	return e.do(G.BroadcastAdd(y, b.param(prefix+".bias"), nil, []byte{0}))
}

// attention is multi-head scaled dot-product self-attention over x (batch*seq x dim).
func (b *graphBuilder) attention(e *errs, x, mask *G.Node, prefix string) *G.Node {
	c := b.w.Config
	q := b.heads(e, b.lin(e, x, prefix+"q"))
	k := b.heads(e, b.lin(e, x, prefix+"k"))
	v := b.heads(e, b.lin(e, x, prefix+"v"))
	if e.err != nil {
		return x
	}
	scale := G.NewConstant(float32(1 / math.Sqrt(float64(c.Dim/c.Heads))))
	s := e.do(G.Mul(e.do(G.BatchedMatMul(q, k, false, true)), scale))
	p := e.do(softmax(e.do(G.Add(s, mask)), false))
	ctx := e.do(G.BatchedMatMul(p, v))
	if e.err != nil {
		return x
	}
	ctx = e.do(G.Reshape(ctx, tensor.Shape{b.batch, c.Heads, c.SeqLen, c.Dim / c.Heads}))
	ctx = e.do(G.Transpose(ctx, 0, 2, 1, 3))
	ctx = e.do(G.Reshape(ctx, tensor.Shape{b.batch * c.SeqLen, c.Dim}))
	return b.lin(e, ctx, prefix+"o")
}

// heads splits x (batch*seq x dim) into (batch*heads, seq, dim/heads).
func (b *graphBuilder) heads(e *errs, x *G.Node) *G.Node {
	if e.err != nil {
		return x
	}
	c := b.w.Config
	dh := c.Dim / c.Heads
	x = e.do(G.Reshape(x, tensor.Shape{b.batch, c.SeqLen, c.Heads, dh}))
	x = e.do(G.Transpose(x, 0, 2, 1, 3))
	return e.do(G.Reshape(x, tensor.Shape{b.batch * c.Heads, c.SeqLen, dh}))
}

// fillEncoder writes token+position vectors, the attention mask and the
// pooling weights for the examples idx; padding rows stay zero.
func (n *Net) fillEncoder(g *graph, x []float32, in *Inputs, idx []int) {
	c := n.W.Config
	emb, pos := n.W.Get("body.embed.weight"), n.W.Get("body.pos.weight")
	mask := g.aux[auxMask].Data().([]float32)
	pool := g.aux[auxPool].Data().([]float32)
	clear(pool)
	d, t := c.Dim, c.SeqLen
	for r := 0; r < n.batch; r++ {
		var ids []int32
		if r < len(idx) {
			ids = in.Tokens(idx[r])
		}
		for p, id := range ids {
			row := x[(r*t+p)*d : (r*t+p+1)*d]
			e, q := emb[int(id)*d:int(id+1)*d], pos[p*d:(p+1)*d]
			for k := range row {
				row[k] = e[k] + q[k]
			}
			pool[r*t+p] = 1 / float32(len(ids))
		}
		n.maskRows(mask[r*c.Heads*t*t:(r+1)*c.Heads*t*t], len(ids))
	}
}

// maskRows fills one example's (heads, seq, seq) block: keys at or past
// length are masked.
func (n *Net) maskRows(m []float32, length int) {
	t := n.W.Config.SeqLen
	for row := 0; row < len(m); row += t {
		for k := 0; k < t; k++ {
			if k < length {
				m[row+k] = 0
			} else {
				m[row+k] = maskOff
			}
		}
	}
}

// backEncoder routes the gradient of the token vectors to embedding rows and
// to the positions (a dense tensor updated with the others).
func (n *Net) backEncoder(dx []float32, in *Inputs, idx []int) {
	c := n.W.Config
	d, t := c.Dim, c.SeqLen
	gp := n.posGrad()
	clear(gp)
	for r, i := range idx {
		for p, id := range in.Tokens(i) {
			src := dx[(r*t+p)*d : (r*t+p+1)*d]
			ge, gq := n.embed.row(id), gp[p*d:(p+1)*d]
			for k := range src {
				ge[k] += src[k]
				gq[k] += src[k]
			}
		}
	}
}

// posGrad returns the position tensor's gradient buffer, the last dense param.
func (n *Net) posGrad() []float32 {
	return n.dense[len(n.dense)-1].G
}
