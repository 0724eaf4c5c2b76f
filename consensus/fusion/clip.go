package fusion

import (
	"fmt"
	"math"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// clip computes every delta's body L2 norm, in ID order, and lowers its
// entry of scales to Clip/norm when the norm exceeds Clip.
func (f *fuser) clip(scales []float64) error {
	f.stats.Norms = make([]float64, len(f.inputs))
	f.stats.Scales = make([]float32, len(f.inputs))
	for i, in := range f.inputs {
		norm, err := f.norm(in)
		if err != nil {
			return err
		}
		if norm > f.rule.Clip {
			scales[i] = f.rule.Clip / norm
		}
		f.stats.Norms[i], f.stats.Scales[i] = norm, float32(scales[i])
	}
	return nil
}

// norm is the L2 norm of a delta's body tensors (see plan.norm).
func (f *fuser) norm(in Input) (float64, error) { return f.plan.norm(in, f.buf.base) }

// norm is the L2 norm of a delta's body tensors, summed tensor by tensor
// in name order, each tensor streamed a span at a time through buf.
func (p *plan) norm(in Input, buf []float32) (float64, error) {
	var total float64
	for _, name := range p.names {
		s, err := p.tensorSquares(in.Delta, name, buf)
		if err != nil {
			return 0, &DeltaError{ID: in.ID, Tensor: name, Err: err}
		}
		total += s
	}
	return math.Sqrt(total), nil
}

// tensorSquares is sumSquares of one tensor, read span by span: spans
// start at multiples of four, so each element lands in the same lane, in
// the same order, as in one pass over the whole tensor.
func (p *plan) tensorSquares(r *checkpoint.Reader, name string, buf []float32) (float64, error) {
	_, shape, _ := p.base.Info(name) // the delta's own may be its stored rows
	n := elems(shape)
	var lanes [4]float64
	for lo := 0; lo < n; lo += len(buf) {
		v, err := p.deltaSpan(r, name, lo, buf[:min(len(buf), n-lo)])
		if err != nil {
			return 0, err
		}
		addSquares(&lanes, v)
		if s := lanes[0] + lanes[1] + lanes[2] + lanes[3]; math.IsNaN(s) || math.IsInf(s, 0) {
			i, x, _ := firstNonFinite(v)
			return 0, fmt.Errorf("%w: element %d is %v", ErrNonFinite, lo+i, x)
		}
	}
	return ((lanes[0] + lanes[1]) + lanes[2]) + lanes[3], nil
}

// sumSquares sums v[i]² in float64 over four fixed lanes (element i goes
// to lane i mod 4), then adds the lanes in order. Squares of float32
// values are exact in float64, so no multiply-add can change the result.
func sumSquares(v []float32) float64 {
	var lanes [4]float64
	addSquares(&lanes, v)
	return ((lanes[0] + lanes[1]) + lanes[2]) + lanes[3]
}

// addSquares adds v[i]² to lane i mod 4 (v starting at a multiple of four
// of the whole vector), in index order within each lane.
func addSquares(lanes *[4]float64, v []float32) {
	s0, s1, s2, s3 := lanes[0], lanes[1], lanes[2], lanes[3]
	i := 0
	for ; i+4 <= len(v); i += 4 {
		a, b, c, d := float64(v[i]), float64(v[i+1]), float64(v[i+2]), float64(v[i+3])
		s0 += float64(a * a)
		s1 += float64(b * b)
		s2 += float64(c * c)
		s3 += float64(d * d)
	}
	*lanes = [4]float64{s0, s1, s2, s3}
	for k := 0; i < len(v); i, k = i+1, k+1 {
		x := float64(v[i])
		lanes[k] += float64(x * x)
	}
}
