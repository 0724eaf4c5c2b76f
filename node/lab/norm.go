package lab

import (
	"fmt"
	"math"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// bodyNorm is the L2 norm of a file's body tensors, or of the difference
// a - b when b is given (same tensor names and shapes).
func bodyNorm(a, b []byte) (float64, error) {
	fa, err := checkpoint.Decode(a)
	if err != nil {
		return 0, err
	}
	var fb *checkpoint.File
	if b != nil {
		if fb, err = checkpoint.Decode(b); err != nil {
			return 0, err
		}
	}
	var ss float64
	for _, t := range fa.Body().Tensors {
		x, err := t.F32View()
		if err != nil {
			return 0, err
		}
		y, err := other(fb, t.Name, len(x))
		if err != nil {
			return 0, err
		}
		for i, v := range x {
			d := float64(v) - float64(y[i])
			ss += d * d
		}
	}
	return math.Sqrt(ss), nil
}

// other returns tensor name of f, or zeros when f is nil.
func other(f *checkpoint.File, name string, n int) ([]float32, error) {
	if f == nil {
		return make([]float32, n), nil
	}
	t, ok := f.Get(name)
	if !ok {
		return nil, fmt.Errorf("no tensor %q", name)
	}
	v, err := t.F32View()
	if err != nil {
		return nil, err
	}
	if len(v) != n {
		return nil, fmt.Errorf("tensor %q has %d values, want %d", name, len(v), n)
	}
	return v, nil
}

// stepNorms returns the mean L2 norm of the contributions' deltas and the
// norm of the step the fused base took from base.
func stepNorms(base, fused []byte, cs []contribution) (delta, step float64, err error) {
	for _, c := range cs {
		n, err := bodyNorm(c.Delta, nil)
		if err != nil {
			return 0, 0, fmt.Errorf("lab: norm of %s's delta: %w", c.Task, err)
		}
		delta += n / float64(len(cs))
	}
	if step, err = bodyNorm(fused, base); err != nil {
		return 0, 0, fmt.Errorf("lab: norm of the fused step: %w", err)
	}
	return delta, step, nil
}
