package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"unsafe"
)

// Tensor is one named array: its element type, shape and little-endian bytes.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// NewF32 returns an F32 tensor holding a copy of v.
func NewF32(name string, shape []int, v []float32) Tensor {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: F32, Shape: append([]int(nil), shape...), Data: data}
}

// SharedF32 returns an F32 tensor whose Data is v's memory itself on a
// little-endian machine (a copy elsewhere, as NewF32): later writes to v
// show in the tensor. It spares a copy of tensors that are written out or
// handed over after their last update.
func SharedF32(name string, shape []int, v []float32) Tensor {
	if !littleEndian {
		return NewF32(name, shape, v)
	}
	var data []byte
	if len(v) > 0 {
		data = unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
	} else {
		data = []byte{}
	}
	return Tensor{Name: name, DType: F32, Shape: append([]int(nil), shape...), Data: data}
}

// Elems returns the number of elements the shape describes (1 for a scalar).
func (t Tensor) Elems() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// maxBytes bounds one tensor's data (1 TiB), far above any real checkpoint and
// low enough that sizes never overflow int64.
const maxBytes = 1 << 40

// byteSize returns the bytes a tensor of the given dtype and shape needs,
// rejecting unknown dtypes, negative dimensions and sizes past maxBytes
// without overflowing.
func byteSize(dt DType, shape []int) (int64, error) {
	size, err := dt.Size()
	if err != nil {
		return 0, err
	}
	n := int64(size)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d > 0 && n > maxBytes/int64(d) {
			return 0, fmt.Errorf("shape %v of %s exceeds %d bytes", shape, dt, int64(maxBytes))
		}
		n *= int64(d)
	}
	return n, nil
}

// check requires Data to hold exactly the bytes DType and Shape describe.
func (t Tensor) check() error {
	need, err := byteSize(t.DType, t.Shape)
	if err != nil {
		return fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if need != int64(len(t.Data)) {
		return fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, has %d",
			t.Name, t.Shape, t.DType, need, len(t.Data))
	}
	return nil
}

// F32 decodes the tensor as float32 values. F32 is copied; F16, BF16 and F64
// are converted (F64 rounds to nearest; values beyond float32 become ±Inf).
// Integer types, and Data that does not match DType and Shape, are errors.
func (t Tensor) F32() ([]float32, error) {
	if !t.DType.IsFloat() {
		return nil, fmt.Errorf("tensor %q: dtype %s is not a float type", t.Name, t.DType)
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	out := make([]float32, t.Elems())
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:])))
		}
	case F16:
		for i := range out {
			out[i] = HalfToFloat32(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(t.Data[2*i:])) << 16)
		}
	default:
		return nil, fmt.Errorf("tensor %q: dtype %s is not a float type", t.Name, t.DType)
	}
	return out, nil
}

// F32View returns the tensor's F32 data as a []float32 that shares memory with
// Data when it is 4-byte aligned, and a copy otherwise. Writes through the view
// change Data only in the shared case; callers that write must use Data-backed
// tensors made by NewF32 or Decode and check Shares.
func (t Tensor) F32View() ([]float32, error) {
	if t.DType != F32 {
		return t.F32()
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	if len(t.Data) == 0 {
		return []float32{}, nil
	}
	if uintptr(unsafe.Pointer(&t.Data[0]))%4 != 0 || !littleEndian {
		return t.F32()
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&t.Data[0])), len(t.Data)/4), nil
}

// CheckFinite returns an error naming the first NaN or Inf element of a float
// tensor, judged in the tensor's own type (a large F64 is finite even where
// float32 would overflow). Integer tensors always pass.
func (t Tensor) CheckFinite() error {
	if !t.DType.IsFloat() {
		return nil
	}
	if t.DType == F64 {
		return t.checkFinite64()
	}
	v, err := t.F32()
	if err != nil {
		return err
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("tensor %q: element %d is %v", t.Name, i, x)
		}
	}
	return nil
}

func (t Tensor) checkFinite64() error {
	if err := t.check(); err != nil {
		return err
	}
	for i := 0; i < len(t.Data)/8; i++ {
		x := math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("tensor %q: element %d is %v", t.Name, i, x)
		}
	}
	return nil
}

// IsHead reports whether a tensor name belongs to a task head, which the swarm
// never fuses: the first dotted component is "head", "classifier" or "lm_head"
// (the names coldnode and common PyTorch models use). Everything else is body.
func IsHead(name string) bool {
	first, _, _ := strings.Cut(name, ".")
	switch first {
	case "head", "classifier", "lm_head":
		return true
	}
	return false
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// HalfToFloat32 converts an IEEE 754 binary16 value to float32 exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		// Subnormal: normalise.
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		frac &= 0x3ff
		return math.Float32frombits(sign | e<<23 | frac<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}
