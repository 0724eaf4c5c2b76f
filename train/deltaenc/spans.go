package deltaenc

import (
	"fmt"
	"slices"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// Spans decodes the delta r as DecodeFile does, but streams: for every body
// tensor of layout, in layout order, it calls fn with the float32 values
// [lo, lo+len(v)) decoded into buf, len(buf) values at a time (an empty
// tensor gets no call). It holds no dense copy of the delta.
func Spans(r, layout *checkpoint.Reader, buf []float32, fn func(name string, lo int, v []float32) error) error {
	if len(buf) == 0 {
		return fmt.Errorf("deltaenc: Spans needs a buffer")
	}
	for _, name := range layout.Names() {
		if checkpoint.IsHead(name) {
			continue
		}
		_, shape, _ := layout.Info(name)
		t, err := bindAny(r, name, shape)
		if err != nil {
			return fmt.Errorf("deltaenc: tensor %q: %w", name, err)
		}
		for lo := 0; lo < t.n; lo += len(buf) {
			v := buf[:min(len(buf), t.n-lo)]
			if err := t.Read(lo, v); err != nil {
				return fmt.Errorf("deltaenc: tensor %q: %w", name, err)
			}
			if err := fn(name, lo, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// bindAny binds tensor name of r, encoded or plain F32 of shape.
func bindAny(r *checkpoint.Reader, name string, shape []int) (*Tensor, error) {
	t, err := Bind(r, name, shape)
	if err != nil || t != nil {
		return t, err
	}
	dt, stored, ok := r.Info(name)
	if !ok || dt != checkpoint.F32 || !slices.Equal(stored, shape) {
		return nil, fmt.Errorf("%w: plain delta tensor is %s %v (present %v), want F32 %v", ErrEncoding, dt, stored, ok, shape)
	}
	return &Tensor{r: r, name: name, vt: FP32, n: prod(shape), cols: max(1, prod(shape))}, nil
}
