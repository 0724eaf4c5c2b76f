package train

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/model"
)

// MetaDelta marks a checkpoint as a delta (value "1").
const MetaDelta = "coldnode.delta"

// Delta returns tuned minus base over the body tensors only, element by
// element in float32. Both must carry the same body config and tensors.
func Delta(base, tuned *checkpoint.File) (*checkpoint.File, error) {
	return combine(base, tuned, "delta", func(b, t float32) float32 { return t - b })
}

// DeltaInPlace is Delta computed into tuned's own memory: tuned's body
// tensors are overwritten with tuned minus base (the same bits as Delta) and
// returned as the delta, so no third body is allocated. tuned must not be
// used as weights afterwards. Each F32 tensor is read in place where its
// data are 4-byte aligned (as files from Decode, DecodeShared, NewF32 and
// SharedF32 are); otherwise one tensor at a time is copied.
func DeltaInPlace(base, tuned *checkpoint.File) (*checkpoint.File, error) {
	return deltaEach(base, tuned, subtractInto)
}

// deltaEach checks that layout (a base, or its names and shapes) and tuned
// have the same body and builds the delta of their body tensors, paired
// in name order, each by sub(base tensor, tuned tensor).
func deltaEach(layout, tuned *checkpoint.File, sub func(b, t checkpoint.Tensor) (checkpoint.Tensor, error)) (*checkpoint.File, error) {
	cfg, err := sameBodies(layout, tuned)
	if err != nil {
		return nil, fmt.Errorf("train: delta: %w", err)
	}
	b, t := layout.Body(), tuned.Body()
	b.Sort()
	t.Sort()
	out := &checkpoint.File{Meta: map[string]string{model.MetaKey: cfg.Encode(), MetaDelta: "1"}}
	for i, tt := range t.Tensors {
		d, err := sub(b.Tensors[i], tt)
		if err != nil {
			return nil, fmt.Errorf("train: delta: %w", err)
		}
		out.Tensors = append(out.Tensors, d)
	}
	return out, nil
}

// subtractInto overwrites tuned's values with tuned - base.
func subtractInto(base, tuned checkpoint.Tensor) (checkpoint.Tensor, error) {
	if base.Name != tuned.Name || !slices.Equal(base.Shape, tuned.Shape) {
		return checkpoint.Tensor{}, fmt.Errorf("tensor %q %v does not match %q %v", base.Name, base.Shape, tuned.Name, tuned.Shape)
	}
	y, err := tuned.F32View()
	if err != nil {
		return checkpoint.Tensor{}, err
	}
	x, err := base.F32View()
	if err != nil {
		return checkpoint.Tensor{}, err
	}
	for i := range y {
		y[i] -= x[i]
	}
	return checkpoint.SharedF32(tuned.Name, tuned.Shape, y), nil
}

// ApplyDelta returns base plus delta over the body tensors.
func ApplyDelta(base, delta *checkpoint.File) (*checkpoint.File, error) {
	out, err := combine(base, delta, "apply delta", func(b, d float32) float32 { return b + d })
	if err != nil {
		return nil, err
	}
	delete(out.Meta, MetaDelta)
	return out, nil
}

func combine(base, other *checkpoint.File, what string, op func(b, o float32) float32) (*checkpoint.File, error) {
	cfg, err := sameBodies(base, other)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", what, err)
	}
	b, o := base.Body(), other.Body()
	b.Sort()
	o.Sort()
	out := &checkpoint.File{Meta: map[string]string{model.MetaKey: cfg.Encode(), MetaDelta: "1"}}
	for i, bt := range b.Tensors {
		t, err := combineTensor(bt, o.Tensors[i], op)
		if err != nil {
			return nil, fmt.Errorf("train: %s: %w", what, err)
		}
		out.Tensors = append(out.Tensors, t)
	}
	return out, nil
}

// sameBodies checks configs and that the two bodies hold the same tensor names
// and shapes, and returns the body config (classes cleared).
func sameBodies(a, b *checkpoint.File) (model.Config, error) {
	if a == nil || b == nil {
		return model.Config{}, fmt.Errorf("missing checkpoint")
	}
	ca, err := model.FromFile(a)
	if err != nil {
		return model.Config{}, err
	}
	cb, err := model.FromFile(b)
	if err != nil {
		return model.Config{}, err
	}
	if err := model.SameBody(ca, cb); err != nil {
		return model.Config{}, err
	}
	ab, bb := a.Body(), b.Body()
	ab.Sort()
	bb.Sort()
	if len(ab.Tensors) != len(bb.Tensors) {
		return model.Config{}, fmt.Errorf("bodies have %d and %d tensors", len(ab.Tensors), len(bb.Tensors))
	}
	ca.Classes = 0
	return ca, nil
}

func combineTensor(a, b checkpoint.Tensor, op func(x, y float32) float32) (checkpoint.Tensor, error) {
	if a.Name != b.Name || !slices.Equal(a.Shape, b.Shape) {
		return checkpoint.Tensor{}, fmt.Errorf("tensor %q %v does not match %q %v", a.Name, a.Shape, b.Name, b.Shape)
	}
	x, err := a.F32()
	if err != nil {
		return checkpoint.Tensor{}, err
	}
	y, err := b.F32()
	if err != nil {
		return checkpoint.Tensor{}, err
	}
	for i := range x {
		x[i] = op(x[i], y[i])
	}
	return checkpoint.NewF32(a.Name, a.Shape, x), nil
}

// subtractChunk is how many bytes of a base tensor DeltaInPlaceFrom reads
// at a time.
const subtractChunk = 1 << 20

// DeltaInPlaceFrom is DeltaInPlace with the base read from r a piece at a
// time (r may read a stored file in place): neither the base nor any of
// its tensors is held whole, so the delta costs no memory beyond tuned's
// own. The result has the same bits as Delta and DeltaInPlace.
func DeltaInPlaceFrom(base *checkpoint.Reader, tuned *checkpoint.File) (*checkpoint.File, error) {
	buf := make([]byte, subtractChunk)
	return deltaEach(layoutOf(base), tuned, func(b, t checkpoint.Tensor) (checkpoint.Tensor, error) {
		return subtractFrom(base, b, t, buf)
	})
}

// layoutOf is r's metadata and tensor names, dtypes and shapes, without
// data: enough to check two bodies match.
func layoutOf(r *checkpoint.Reader) *checkpoint.File {
	f := &checkpoint.File{Meta: r.Meta}
	for _, name := range r.Names() {
		dt, shape, _ := r.Info(name)
		f.Tensors = append(f.Tensors, checkpoint.Tensor{Name: name, DType: dt, Shape: shape})
	}
	return f
}

// subtractFrom overwrites tuned's values with tuned - base, reading an F32
// base tensor through buf a chunk at a time (any other float dtype is read
// whole and converted, as F32View would).
func subtractFrom(r *checkpoint.Reader, base, tuned checkpoint.Tensor, buf []byte) (checkpoint.Tensor, error) {
	if base.Name != tuned.Name || !slices.Equal(base.Shape, tuned.Shape) {
		return checkpoint.Tensor{}, fmt.Errorf("tensor %q %v does not match %q %v", base.Name, base.Shape, tuned.Name, tuned.Shape)
	}
	y, err := tuned.F32View()
	if err != nil {
		return checkpoint.Tensor{}, err
	}
	if base.DType != checkpoint.F32 {
		t, err := r.Tensor(base.Name)
		if err != nil {
			return checkpoint.Tensor{}, err
		}
		return subtractInto(t, checkpoint.SharedF32(tuned.Name, tuned.Shape, y))
	}
	per := len(buf) / 4
	for lo := 0; lo < len(y); lo += per {
		n := min(per, len(y)-lo)
		if err := r.ReadRangeInto(base.Name, int64(4*lo), buf[:4*n]); err != nil {
			return checkpoint.Tensor{}, err
		}
		for j, v := range y[lo : lo+n] {
			y[lo+j] = v - math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:]))
		}
	}
	return checkpoint.SharedF32(tuned.Name, tuned.Shape, y), nil
}
