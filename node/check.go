package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// errNotCanonical rejects a delta whose bytes are not the canonical
// safetensors encoding of its own tensors.
var errNotCanonical = errors.New("delta is not a canonical safetensors file")

// checkDelta requires canonical safetensors bytes with finite values and,
// when bound > 0, a body L2 norm of at most bound. It reads the tensors in
// place, in one pass each, without copying the file.
func checkDelta(b []byte, bound float64) error {
	r, err := openCanonical(b)
	if err != nil {
		return err
	}
	ts := make([]checkpoint.Tensor, 0, len(r.Names()))
	for _, name := range r.Names() {
		dt, shape, _ := r.Info(name)
		size, _ := r.Size(name)
		data, _, err := r.View(name, 0, size)
		if err != nil {
			return err
		}
		ts = append(ts, checkpoint.Tensor{Name: name, DType: dt, Shape: shape, Data: data})
	}
	return checkTensors(ts, bound)
}

// openCanonical opens b in place and requires its header to be the one
// checkpoint.Encode writes for these tensors (Open already requires the
// data to tile the file exactly, so the header decides canonicity).
func openCanonical(b []byte) (*checkpoint.Reader, error) {
	r, err := checkpoint.OpenBytes(b)
	if err != nil {
		return nil, err
	}
	infos := make([]checkpoint.Tensor, 0, len(r.Names()))
	for _, name := range r.Names() {
		dt, shape, _ := r.Info(name)
		infos = append(infos, checkpoint.Tensor{Name: name, DType: dt, Shape: shape})
	}
	hdr, err := checkpoint.Header(r.Meta, infos)
	if err != nil || !bytes.HasPrefix(b, hdr) {
		return nil, errNotCanonical
	}
	return r, nil
}

// checkTensors requires finite values everywhere and, when bound > 0, a
// body (non-head) L2 norm of at most bound.
func checkTensors(ts []checkpoint.Tensor, bound float64) error {
	var sum float64
	for _, t := range ts {
		s, err := finiteSquares(t)
		if err != nil {
			return err
		}
		if !checkpoint.IsHead(t.Name) {
			sum += s
		}
	}
	if norm := math.Sqrt(sum); bound > 0 && norm > bound {
		return fmt.Errorf("delta norm %.4g exceeds the swarm's bound %.4g", norm, bound)
	}
	return nil
}

// finiteSquares returns the sum of squares of a float tensor's elements,
// or an error naming its first NaN or Inf; other dtypes add nothing.
func finiteSquares(t checkpoint.Tensor) (float64, error) {
	if !t.DType.IsFloat() {
		return 0, nil
	}
	if t.DType == checkpoint.F64 {
		return squares64(t)
	}
	v, err := t.F32View()
	if err != nil {
		return 0, err
	}
	var sum float64
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("tensor %q: element %d is %v", t.Name, i, x)
		}
		sum += f * f
	}
	return sum, nil
}

// squares64 is finiteSquares for an F64 tensor, judged in its own type.
func squares64(t checkpoint.Tensor) (float64, error) {
	if err := t.CheckFinite(); err != nil {
		return 0, err
	}
	var sum float64
	for i := 0; i+8 <= len(t.Data); i += 8 {
		x := math.Float64frombits(binary.LittleEndian.Uint64(t.Data[i:]))
		sum += x * x
	}
	return sum, nil
}
