package model

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gorgonia v0.9.18's SoftMax and LogSoftMax take the running maximum from the
// first element of the whole tensor rather than of each row, so a row far
// from that element overflows (NaN with an attention mask), and they start a
// goroutine per row. These ops replace them: softmax or log-softmax over the
// last axis of a float32 tensor, one pass per row, in a fixed order.

type softmaxOp struct{ log bool }

func (op softmaxOp) Arity() int { return 1 }
func (op softmaxOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op softmaxOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}
func (op softmaxOp) ReturnsPtr() bool      { return false }
func (op softmaxOp) CallsExtern() bool     { return false }
func (op softmaxOp) OverwritesInput() int  { return -1 }
func (op softmaxOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op softmaxOp) Hashcode() uint32      { return hashOf(op.String()) }
func (op softmaxOp) String() string        { return fmt.Sprintf("rowSoftmax{log=%v}", op.log) }
func (op softmaxOp) DiffWRT(n int) []bool  { return []bool{true} }
func (op softmaxOp) Do(v ...G.Value) (G.Value, error) {
	x, err := f32s(v[0])
	if err != nil {
		return nil, err
	}
	shape := v[0].Shape()
	out := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape.Clone()...))
	y := out.Data().([]float32)
	n := shape[len(shape)-1]
	for r := 0; r < len(x); r += n {
		rowSoftmax(x[r:r+n], y[r:r+n], op.log)
	}
	return out, nil
}

// SymDiff returns the gradient node of the input.
func (op softmaxOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(softmaxGradOp{log: op.log}, out, grad)
	return G.Nodes{dx}, err
}

func rowSoftmax(x, y []float32, log bool) {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	var s float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		y[i] = e
		s += e
	}
	if log {
		ls := float32(math.Log(float64(s)))
		for i, v := range x {
			y[i] = v - m - ls
		}
		return
	}
	for i := range y {
		y[i] /= s
	}
}

// softmaxGradOp computes dx from the forward output y and its gradient dy:
// softmax: dx = y*(dy - sum(dy*y)); log-softmax: dx = dy - exp(y)*sum(dy).
type softmaxGradOp struct{ log bool }

func (op softmaxGradOp) Arity() int { return 2 }
func (op softmaxGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a)
}
func (op softmaxGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}
func (op softmaxGradOp) ReturnsPtr() bool      { return false }
func (op softmaxGradOp) CallsExtern() bool     { return false }
func (op softmaxGradOp) OverwritesInput() int  { return -1 }
func (op softmaxGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op softmaxGradOp) Hashcode() uint32      { return hashOf(op.String()) }
func (op softmaxGradOp) String() string        { return fmt.Sprintf("rowSoftmaxGrad{log=%v}", op.log) }
func (op softmaxGradOp) Do(v ...G.Value) (G.Value, error) {
	y, err := f32s(v[0])
	if err != nil {
		return nil, err
	}
	dy, err := f32s(v[1])
	if err != nil {
		return nil, err
	}
	shape := v[0].Shape()
	out := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape.Clone()...))
	dx := out.Data().([]float32)
	n := shape[len(shape)-1]
	for r := 0; r < len(y); r += n {
		rowSoftmaxGrad(y[r:r+n], dy[r:r+n], dx[r:r+n], op.log)
	}
	return out, nil
}

func rowSoftmaxGrad(y, dy, dx []float32, log bool) {
	var s float32
	for i := range y {
		if log {
			s += dy[i]
		} else {
			s += float32(dy[i] * y[i])
		}
	}
	for i := range y {
		if log {
			dx[i] = dy[i] - float32(float32(math.Exp(float64(y[i])))*s)
		} else {
			dx[i] = float32(y[i] * (dy[i] - s))
		}
	}
}

func f32s(v G.Value) ([]float32, error) {
	t, ok := v.(tensor.Tensor)
	if !ok {
		return nil, fmt.Errorf("softmax: input is %T, not a tensor", v)
	}
	d, ok := t.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("softmax: input holds %T, not float32", t.Data())
	}
	return d, nil
}

func hashOf(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// softmax applies rowSoftmax (or its log) over the last axis of x.
func softmax(x *G.Node, log bool) (*G.Node, error) {
	return G.ApplyOp(softmaxOp{log: log}, x)
}
