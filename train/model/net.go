package model

import (
	"fmt"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// Net runs one model over batches of a fixed size: a training program that
// computes the loss and gradients, and an inference program for predictions.
// A Net is not safe for concurrent use.
type Net struct {
	W      *Weights
	batch  int
	body   bool // whether body tensors are trained
	train  *graph
	infer  *graph
	embed  *sparseGrad // bag, encoder: the embedding's gradient rows
	dense  []Param
	scores []float32
}

// Param is a dense trainable tensor and its gradient from the last Step.
type Param struct {
	Name string
	W    []float32
	G    []float32
}

// Mode says what a Net is for.
type Mode int

// The modes.
const (
	Infer Mode = iota // predictions only
	Probe             // train the head; the body is frozen
	Full              // train body and head
)

// NewNet compiles the programs for w at the given batch size.
func NewNet(w *Weights, batch int, mode Mode) (*Net, error) {
	if batch <= 0 || batch > 1<<16 {
		return nil, fmt.Errorf("model: batch size %d out of range 1..65536", batch)
	}
	n := &Net{W: w, batch: batch, body: mode == Full}
	xShape, build := n.arch()
	var err error
	if n.infer, err = newGraph(w, batch, xShape, build, false, nil, false); err != nil {
		return nil, err
	}
	if mode == Infer {
		return n, nil
	}
	trainable := func(name string) bool { return n.body || checkpoint.IsHead(name) }
	if n.train, err = newGraph(w, batch, xShape, build, true, trainable, n.needXGrad()); err != nil {
		return nil, err
	}
	if n.needXGrad() {
		n.embed = newSparseGrad(w.Config.Token.Buckets, w.Config.Dim)
	}
	for _, p := range n.train.wrt {
		if p != n.train.x {
			n.dense = append(n.dense, Param{Name: p.Name(), W: w.Get(p.Name())})
		}
	}
	if n.body && w.Config.Arch == Encoder {
		pos := w.Get("body.pos.weight")
		n.dense = append(n.dense, Param{Name: "body.pos.weight", W: pos, G: make([]float32, len(pos))})
	}
	return n, nil
}

// EndTraining drops the training program, its gradients and the embedding
// gradient rows; the Net can still predict. Step then fails.
func (n *Net) EndTraining() {
	if n.train != nil {
		n.train.close()
	}
	n.train, n.embed, n.dense = nil, nil, nil
}

func (n *Net) needXGrad() bool { return n.body && n.W.Config.Arch != MLP }

// arch returns the graph input shape and builder of the architecture.
func (n *Net) arch() ([]int, builder) {
	c := n.W.Config
	switch c.Arch {
	case Bag:
		return []int{n.batch, c.Dim}, mlpHead
	case Encoder:
		return []int{n.batch * c.SeqLen, c.Dim}, encoderGraph
	}
	return []int{n.batch, c.Features}, mlpHead
}

// Batch is the fixed batch size; shorter batches are padded.
func (n *Net) Batch() int { return n.batch }

// Step runs forward and backward over the examples idx of in (at most Batch)
// and returns the mean loss. Gradients are then in Dense() and Sparse().
func (n *Net) Step(in *Inputs, idx []int) (float32, error) {
	if n.train == nil {
		return 0, fmt.Errorf("model: Step on an inference-only net")
	}
	if err := n.checkBatch(in, idx); err != nil {
		return 0, err
	}
	n.fill(n.train, in, idx)
	n.fillTargets(in, idx)
	if err := n.train.run(); err != nil {
		return 0, fmt.Errorf("model: train step: %w", err)
	}
	if err := n.readGrads(); err != nil {
		return 0, err
	}
	if n.embed != nil {
		if err := n.backEmbed(in, idx); err != nil {
			return 0, err
		}
	}
	return n.train.loss.Value().Data().(float32), nil
}

func (n *Net) checkBatch(in *Inputs, idx []int) error {
	if len(idx) == 0 || len(idx) > n.batch {
		return fmt.Errorf("model: batch of %d examples, want 1..%d", len(idx), n.batch)
	}
	for _, i := range idx {
		if i < 0 || i >= in.Len() {
			return fmt.Errorf("model: example index %d out of range 0..%d", i, in.Len()-1)
		}
	}
	return nil
}

func (n *Net) fillTargets(in *Inputs, idx []int) {
	y := n.train.yT.Data().([]float32)
	clear(y)
	inv := 1 / float32(len(idx))
	c := n.W.Config.Classes
	for r, i := range idx {
		y[r*c+in.Labels[i]] = inv
	}
}

func (n *Net) readGrads() error {
	for i := range n.train.wrt {
		if n.train.wrt[i] == n.train.x {
			continue
		}
		g, err := n.train.grad(i)
		if err != nil {
			return err
		}
		n.dense[i].G = g
	}
	return nil
}

// Dense returns the dense trainable tensors with their last gradients.
func (n *Net) Dense() []Param { return n.dense }

// Sparse returns the embedding's gradient from the last Step: the touched rows
// in first-touch order and, for each, Dim values. ok is false when the
// embedding is not trained.
func (n *Net) Sparse() (weight []float32, rows []int32, grad []float32, ok bool) {
	if n.embed == nil {
		return nil, nil, nil, false
	}
	return n.W.Get("body.embed.weight"), n.embed.rows, n.embed.grad, true
}

// Logits runs inference over idx and returns the batch's scores, one row of
// Classes values per example; the slice is reused by the next call.
func (n *Net) Logits(in *Inputs, idx []int) ([]float32, error) {
	if err := n.checkBatch(in, idx); err != nil {
		return nil, err
	}
	n.fill(n.infer, in, idx)
	if err := n.infer.run(); err != nil {
		return nil, fmt.Errorf("model: inference: %w", err)
	}
	out := n.infer.logits.Value().Data().([]float32)
	n.scores = append(n.scores[:0], out[:len(idx)*n.W.Config.Classes]...)
	return n.scores, nil
}

// Predict returns the arg-max class of every example of in.
func (n *Net) Predict(in *Inputs) ([]int, error) {
	pred := make([]int, 0, in.Len())
	idx := make([]int, 0, n.batch)
	c := n.W.Config.Classes
	for start := 0; start < in.Len(); start += n.batch {
		idx = idx[:0]
		for i := start; i < min(start+n.batch, in.Len()); i++ {
			idx = append(idx, i)
		}
		scores, err := n.Logits(in, idx)
		if err != nil {
			return nil, err
		}
		for r := range idx {
			pred = append(pred, argmax(scores[r*c:(r+1)*c]))
		}
	}
	return pred, nil
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
