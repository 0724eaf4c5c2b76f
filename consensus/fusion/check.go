package fusion

import (
	"fmt"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// Check reports whether one delta could be fused into base: its body
// tensors match the base's by name, shape and dtype, and every body value
// is finite. It streams the delta's body tensors through one span-sized
// buffer (see Fuse), so it holds at most 1 MiB of tensor data; a node can
// run it when a delta arrives, before the round's fusion.
func Check(base *checkpoint.Reader, in Input) error {
	p, err := checkPlan(base, in)
	if err != nil {
		return err
	}
	buf := make([]float32, min(p.maxElem, spanElems))
	for _, name := range p.names {
		_, shape, _ := base.Info(name)
		i, x, bad, err := p.scanDelta(in.Delta, name, elems(shape), buf)
		if err != nil {
			return &DeltaError{ID: in.ID, Tensor: name, Err: err}
		}
		if bad {
			return &DeltaError{ID: in.ID, Tensor: name, Err: fmt.Errorf("%w: element %d is %v", ErrNonFinite, i, x)}
		}
	}
	return nil
}

// checkPlan is the plan of fusing in alone onto base, its tensors matched.
func checkPlan(base *checkpoint.Reader, in Input) (*plan, error) {
	if base == nil {
		return nil, fmt.Errorf("%w: no base", ErrInput)
	}
	p := &plan{base: base}
	if err := p.setBody(); err != nil {
		return nil, err
	}
	if err := p.setInputs([]Input{in}); err != nil {
		return nil, err
	}
	return p, p.match(in)
}
