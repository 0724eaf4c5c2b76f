package fusion

import (
	"fmt"
	"math"
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

// norm is the L2 norm of a delta's body tensors, summed tensor by tensor
// in name order.
func (f *fuser) norm(in Input) (float64, error) {
	var total float64
	for _, name := range f.names {
		v, err := readF32(in.Delta, name)
		if err != nil {
			return 0, &DeltaError{ID: in.ID, Tensor: name, Err: err}
		}
		s := sumSquares(v)
		if math.IsNaN(s) || math.IsInf(s, 0) {
			i, x, _ := firstNonFinite(v)
			return 0, &DeltaError{ID: in.ID, Tensor: name,
				Err: fmt.Errorf("%w: element %d is %v", ErrNonFinite, i, x)}
		}
		total += s
	}
	return math.Sqrt(total), nil
}

// sumSquares sums v[i]² in float64 over four fixed lanes (element i goes
// to lane i mod 4), then adds the lanes in order. Squares of float32
// values are exact in float64, so no multiply-add can change the result.
func sumSquares(v []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(v); i += 4 {
		a, b, c, d := float64(v[i]), float64(v[i+1]), float64(v[i+2]), float64(v[i+3])
		s0 += float64(a * a)
		s1 += float64(b * b)
		s2 += float64(c * c)
		s3 += float64(d * d)
	}
	lanes := [4]float64{s0, s1, s2, s3}
	for k := 0; i < len(v); i, k = i+1, k+1 {
		x := float64(v[i])
		lanes[k] += float64(x * x)
	}
	return ((lanes[0] + lanes[1]) + lanes[2]) + lanes[3]
}
