package fusion

import (
	"fmt"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
)

// OpenDelta opens a delta file as it travels, plain or encoded (see
// train/deltaenc): a zstd frame is inflated to at most
// deltaenc.Limit(base) bytes, so a decompression bomb fails here. The
// returned Reader reads b (or the inflated copy) in place.
func OpenDelta(b []byte, base *checkpoint.Reader) (*checkpoint.Reader, error) {
	if base == nil {
		return nil, fmt.Errorf("%w: no base", ErrInput)
	}
	r, err := deltaenc.Open(b, deltaenc.Limit(base))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMismatch, err)
	}
	return r, nil
}

// bind prepares tensor name of an encoded delta for decoding; it reports
// false for a plain delta, whose F32 tensors are read directly.
func (p *plan) bind(in Input, name string, shape []int) (bool, error) {
	t, err := deltaenc.Bind(in.Delta, name, shape)
	if err != nil {
		return false, &DeltaError{ID: in.ID, Tensor: name, Err: fmt.Errorf("%w: %w", ErrMismatch, err)}
	}
	if t == nil {
		return false, nil
	}
	if p.dec == nil {
		p.dec = map[*checkpoint.Reader]map[string]*deltaenc.Tensor{}
	}
	if p.dec[in.Delta] == nil {
		p.dec[in.Delta] = map[string]*deltaenc.Tensor{}
	}
	p.dec[in.Delta][name] = t
	return true, nil
}

// companion reports whether name is a companion tensor (stored rows or
// scales) of a base body tensor in an encoded delta.
func (p *plan) companion(r *checkpoint.Reader, name string) bool {
	t, ok := deltaenc.Companion(name)
	if !ok || !deltaenc.Encoded(r) {
		return false
	}
	_, _, inBase := p.base.Info(t)
	return inBase
}

// deltaSpan is spanOf for a delta: encoded tensors are decoded into buf,
// plain F32 ones read (or viewed) as before. Decoding is exact, so the
// fused bits are those of the decoded float32 delta.
func (p *plan) deltaSpan(r *checkpoint.Reader, name string, lo int, buf []float32) ([]float32, error) {
	if t := p.dec[r][name]; t != nil {
		return buf, t.Read(lo, buf)
	}
	return spanOf(r, name, lo, buf)
}

// scanDelta is scan through deltaSpan.
func (p *plan) scanDelta(r *checkpoint.Reader, name string, n int, buf []float32) (int, float32, bool, error) {
	for lo := 0; lo < n; lo += len(buf) {
		v, err := p.deltaSpan(r, name, lo, buf[:min(len(buf), n-lo)])
		if err != nil {
			return 0, 0, false, err
		}
		if i, x, bad := firstNonFinite(v); bad {
			return lo + i, x, true, nil
		}
	}
	return 0, 0, false, nil
}
