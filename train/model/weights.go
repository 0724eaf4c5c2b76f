package model

import (
	"fmt"
	"math"
	"slices"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// Weights holds a model's tensors as float32 slices that training updates in
// place. The gorgonia graphs of a Net read these same slices.
type Weights struct {
	Config Config
	specs  []Spec
	vals   map[string][]float32
}

// NewWeights binds body and head checkpoints to cfg, checking that every
// tensor the config needs is present with the right shape and finite values.
// The checkpoints' data are copied.
func NewWeights(cfg Config, body, head *checkpoint.File) (*Weights, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &Weights{Config: cfg, specs: cfg.Specs(), vals: map[string][]float32{}}
	for _, s := range w.specs {
		src := body
		if checkpoint.IsHead(s.Name) {
			src = head
		}
		v, err := load(src, s)
		if err != nil {
			return nil, err
		}
		w.vals[s.Name] = v
	}
	return w, nil
}

func load(f *checkpoint.File, s Spec) ([]float32, error) {
	if f == nil {
		return nil, fmt.Errorf("model: no checkpoint for tensor %q", s.Name)
	}
	t, ok := f.Get(s.Name)
	if !ok {
		return nil, fmt.Errorf("model: checkpoint lacks tensor %q that the config needs", s.Name)
	}
	if !slices.Equal(t.Shape, s.Shape) {
		return nil, fmt.Errorf("model: tensor %q has shape %v, config needs %v", s.Name, t.Shape, s.Shape)
	}
	if t.DType == checkpoint.F64 {
		if err := t.CheckFinite(); err != nil { // judged in float64, before rounding
			return nil, fmt.Errorf("model: %w", err)
		}
	}
	v, err := t.F32()
	if err != nil {
		return nil, err
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("model: tensor %q: element %d is %v", t.Name, i, x)
		}
	}
	return v, nil
}

// Get returns the live slice of a tensor (nil when the config has none).
func (w *Weights) Get(name string) []float32 { return w.vals[name] }

// Specs returns the tensors in the config's order.
func (w *Weights) Specs() []Spec { return w.specs }

// metaConfig is the config a checkpoint carries: a body's leaves Classes 0,
// so bodies trained on different tasks carry the same bytes of metadata.
func metaConfig(c Config, head bool) string {
	if !head {
		c.Classes = 0
	}
	return c.Encode()
}

// Body returns a copy of the body tensors as a checkpoint carrying the config.
func (w *Weights) Body() *checkpoint.File { return w.export(false) }

// Head returns a copy of the head tensors as a checkpoint carrying the config.
func (w *Weights) Head() *checkpoint.File { return w.export(true) }

// SharedBody returns the body tensors as a checkpoint whose data are w's
// own slices (on little-endian machines): no copy, and later updates of w
// show in it. For handing the weights over once training is done.
func (w *Weights) SharedBody() *checkpoint.File { return w.exportWith(false, checkpoint.SharedF32) }

func (w *Weights) export(head bool) *checkpoint.File { return w.exportWith(head, checkpoint.NewF32) }

func (w *Weights) exportWith(head bool, tensor func(string, []int, []float32) checkpoint.Tensor) *checkpoint.File {
	f := &checkpoint.File{Meta: map[string]string{MetaKey: metaConfig(w.Config, head)}}
	for _, s := range w.specs {
		if checkpoint.IsHead(s.Name) == head {
			f.Tensors = append(f.Tensors, tensor(s.Name, s.Shape, w.vals[s.Name]))
		}
	}
	f.Sort()
	return f
}

// Clone returns a deep copy.
func (w *Weights) Clone() *Weights {
	c := &Weights{Config: w.Config, specs: w.specs, vals: make(map[string][]float32, len(w.vals))}
	for k, v := range w.vals {
		c.vals[k] = slices.Clone(v)
	}
	return c
}

// CopyFrom overwrites w's values with src's (same config), keeping w's slices.
func (w *Weights) CopyFrom(src *Weights) {
	for _, s := range w.specs {
		copy(w.vals[s.Name], src.vals[s.Name])
	}
}
