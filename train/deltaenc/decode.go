package deltaenc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// zstdMagic starts every zstd frame. A safetensors file starts with its
// header length, which these bytes would make about 680 MB: no real file.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// Compressed reports whether b is a zstd frame.
func Compressed(b []byte) bool { return bytes.HasPrefix(b, zstdMagic) }

// Limit bounds the decoded size of a delta of base's layout: every tensor
// of base as float32 plus an int32 index and a float32 scale per row, and
// 1 MiB for the header. No well-formed delta is larger, so a zstd frame
// that inflates past it (a decompression bomb) is rejected at the bound.
func Limit(base *checkpoint.Reader) int64 {
	n := int64(1 << 20)
	for _, name := range base.Names() {
		_, shape, _ := base.Info(name)
		rows, cols := rowsOf(shape)
		n += 4*int64(rows)*int64(cols) + 8*int64(rows)
	}
	return n
}

// Open unwraps a delta file (see Unwrap) and opens the safetensors inside
// for in-place reading.
func Open(b []byte, limit int64) (*checkpoint.Reader, error) {
	inner, err := Unwrap(b, limit)
	if err != nil {
		return nil, err
	}
	return checkpoint.OpenBytes(inner)
}

// Tensor decodes one tensor of an encoded delta to float32, a range at a
// time. It is safe for concurrent use.
type Tensor struct {
	r     *checkpoint.Reader
	name  string
	vt    Values
	n     int       // dense elements
	cols  int       // elements per row
	index []int32   // stored rows, ascending; nil: every row, in order
	scale []float32 // int8: one per stored row
}

// Encoded reports whether r is an encoded delta (carries MetaKey).
func Encoded(r *checkpoint.Reader) bool {
	_, ok := r.Meta[MetaKey]
	return ok
}

// Companion returns the tensor a companion name belongs to.
func Companion(name string) (tensor string, ok bool) {
	for _, s := range []string{RowsSuffix, ScaleSuffix} {
		if t, found := stripSuffix(name, s); found {
			return t, true
		}
	}
	return "", false
}

func stripSuffix(name, suffix string) (string, bool) {
	if len(name) > len(suffix) && name[len(name)-len(suffix):] == suffix {
		return name[:len(name)-len(suffix)], true
	}
	return "", false
}

// Bind prepares tensor name of r, whose dense shape is shape, for
// decoding. It returns nil, nil when r is not an encoded delta (the
// caller reads plain float32 itself). Every structural error (dtype,
// shape, index order or range, scale shape or value) wraps ErrEncoding;
// the caller names the tensor.
func Bind(r *checkpoint.Reader, name string, shape []int) (*Tensor, error) {
	if !Encoded(r) {
		return nil, nil
	}
	e, err := parseTensors(r.Meta[MetaKey])
	if err != nil {
		return nil, err
	}
	dt, stored, ok := r.Info(name)
	if !ok {
		return nil, fmt.Errorf("%w: missing", ErrEncoding)
	}
	if dt != e.Values.DType() {
		return nil, fmt.Errorf("%w: dtype %s, encoding %q stores %s", ErrEncoding, dt, e.Tensors(), e.Values.DType())
	}
	rows, cols := rowsOf(shape)
	t := &Tensor{r: r, name: name, vt: e.Values, n: prod(shape), cols: cols}
	if err := t.bindIndex(e, shape, stored, &rows); err != nil {
		return nil, err
	}
	return t, t.bindScale(e, rows)
}

// bindIndex reads name#rows when present and checks the stored shape;
// rows becomes the number of stored rows.
func (t *Tensor) bindIndex(e Encoding, shape, stored []int, rows *int) error {
	_, _, has := t.r.Info(t.name + RowsSuffix)
	if !has {
		if !slices.Equal(stored, shape) {
			return fmt.Errorf("%w: shape %v, base has %v", ErrEncoding, stored, shape)
		}
		return nil
	}
	if !e.Rows || len(shape) < 2 {
		return fmt.Errorf("%w: has %s, but encoding %q stores rows of rank-2 tensors only under \"rows\"", ErrEncoding, t.name+RowsSuffix, e.Tensors())
	}
	idx, err := readIndex(t.r, t.name+RowsSuffix, shape[0])
	if err != nil {
		return err
	}
	want := append([]int{len(idx)}, shape[1:]...)
	if !slices.Equal(stored, want) {
		return fmt.Errorf("%w: shape %v, want %v for %d stored rows of %v", ErrEncoding, stored, want, len(idx), shape)
	}
	t.index, *rows = idx, len(idx)
	return nil
}

// readIndex reads an I32 [k] index of strictly increasing rows below n.
func readIndex(r *checkpoint.Reader, name string, n int) ([]int32, error) {
	dt, shape, _ := r.Info(name)
	if dt != checkpoint.I32 || len(shape) != 1 {
		return nil, fmt.Errorf("%w: %s is %s %v, want I32 [rows]", ErrEncoding, name, dt, shape)
	}
	raw := make([]byte, 4*shape[0])
	if err := r.ReadInto(name, raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncoding, err)
	}
	idx := make([]int32, shape[0])
	for i := range idx {
		idx[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
		if idx[i] < 0 || int(idx[i]) >= n {
			return nil, fmt.Errorf("%w: %s[%d] = %d is outside rows 0..%d", ErrEncoding, name, i, idx[i], n-1)
		}
		if i > 0 && idx[i] <= idx[i-1] {
			return nil, fmt.Errorf("%w: %s[%d] = %d does not follow %d (rows must be strictly increasing)", ErrEncoding, name, i, idx[i], idx[i-1])
		}
	}
	return idx, nil
}

// bindScale reads name#scale for int8 and requires its absence otherwise.
func (t *Tensor) bindScale(e Encoding, rows int) error {
	sname := t.name + ScaleSuffix
	dt, shape, has := t.r.Info(sname)
	if e.Values != Int8 {
		if has {
			return fmt.Errorf("%w: has %s, but encoding %q has no scales", ErrEncoding, sname, e.Tensors())
		}
		return nil
	}
	if !has {
		return fmt.Errorf("%w: int8 values without %s", ErrEncoding, sname)
	}
	if dt != checkpoint.F32 || !slices.Equal(shape, []int{rows}) {
		return fmt.Errorf("%w: %s is %s %v, want F32 [%d] (one scale per stored row)", ErrEncoding, sname, dt, shape, rows)
	}
	ts, err := t.r.Tensor(sname)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrEncoding, err)
	}
	if t.scale, err = ts.F32(); err != nil {
		return fmt.Errorf("%w: %v", ErrEncoding, err)
	}
	for i, s := range t.scale {
		if !(s >= 0) || math.IsInf(float64(s), 0) || math.Signbit(float64(s)) {
			return fmt.Errorf("%w: %s[%d] = %v; scales are finite and non-negative", ErrEncoding, sname, i, s)
		}
	}
	return nil
}

// Read decodes elements [lo, lo+len(dst)) of the dense tensor into dst:
// rows not stored are +0.
func (t *Tensor) Read(lo int, dst []float32) error {
	if lo < 0 || lo+len(dst) > t.n {
		return fmt.Errorf("read %q: elements [%d, %d) outside its %d", t.name, lo, lo+len(dst), t.n)
	}
	if len(dst) == 0 {
		return nil
	}
	if t.index == nil {
		return t.readStored(lo, dst)
	}
	clear(dst)
	hi := lo + len(dst)
	first := lo / t.cols
	j := sort.Search(len(t.index), func(j int) bool { return int(t.index[j]) >= first })
	for ; j < len(t.index); j++ {
		start := int(t.index[j]) * t.cols
		if start >= hi {
			break
		}
		a, b := max(lo, start), min(hi, start+t.cols)
		if err := t.readStored(j*t.cols+a-start, dst[a-lo:b-lo]); err != nil {
			return err
		}
	}
	return nil
}

// readStored decodes stored elements [off, off+len(dst)).
func (t *Tensor) readStored(off int, dst []float32) error {
	size := t.vt.DType()
	w, _ := size.Size()
	raw, ok, err := t.r.View(t.name, int64(w*off), int64(w*len(dst)))
	if err != nil {
		return err
	}
	if !ok {
		raw = make([]byte, w*len(dst))
		if err := t.r.ReadRangeInto(t.name, int64(w*off), raw); err != nil {
			return err
		}
	}
	t.convert(off, raw, dst)
	return nil
}

func (t *Tensor) convert(off int, raw []byte, dst []float32) {
	switch t.vt {
	case FP32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case FP16:
		table := halfTable()
		for i := range dst {
			dst[i] = table[binary.LittleEndian.Uint16(raw[2*i:])]
		}
	case BF16:
		for i := range dst {
			dst[i] = fromBF16(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case Int8:
		// Row by row: each stored row has one scale.
		for i := 0; i < len(dst); {
			row := (off + i) / t.cols
			end := min(len(dst), (row+1)*t.cols-off)
			dequantizeRow(dst[i:end], raw[i:end], t.scale[row])
			i = end
		}
	}
}

// dequantizeRow sets dst[i] = dequantize(int8(raw[i]), s), eight values
// at a time with the vector loop where there is one (the same bits).
func dequantizeRow(dst []float32, raw []byte, s float32) {
	raw = raw[:len(dst)]
	if useDequantizeVector && len(dst) >= 8 {
		n := len(dst) &^ 7
		dequantizeAVX2(dst[:n], raw[:n], s)
		dst, raw = dst[n:], raw[n:]
	}
	for i := range dst {
		dst[i] = dequantize(int8(raw[i]), s)
	}
}

// useDequantizeVector selects the AVX2 loop where there is one; tests
// switch it off to compare the two.
var useDequantizeVector = haveDequantizeVector

var (
	halfOnce   sync.Once
	halfValues *[1 << 16]float32
)

// halfTable maps every binary16 bit pattern to its float32 value (built
// once by fromHalf, so it is exact).
func halfTable() *[1 << 16]float32 {
	halfOnce.Do(func() {
		halfValues = new([1 << 16]float32)
		for h := range halfValues {
			halfValues[h] = fromHalf(uint16(h))
		}
	})
	return halfValues
}

// DecodeFile decodes every body tensor of layout (a base, or the genesis)
// from the delta r to float32: a plain delta's tensors must be F32 of the
// layout's shapes. The result carries r's metadata without MetaKey.
func DecodeFile(r, layout *checkpoint.Reader) (*checkpoint.File, error) {
	out := &checkpoint.File{Meta: map[string]string{}}
	for k, v := range r.Meta {
		if k != MetaKey {
			out.Meta[k] = v
		}
	}
	for _, name := range layout.Names() {
		if checkpoint.IsHead(name) {
			continue
		}
		_, shape, _ := layout.Info(name)
		v, err := decodeTensor(r, name, shape)
		if err != nil {
			return nil, fmt.Errorf("deltaenc: tensor %q: %w", name, err)
		}
		out.Tensors = append(out.Tensors, checkpoint.NewF32(name, shape, v))
	}
	return out, nil
}

func decodeTensor(r *checkpoint.Reader, name string, shape []int) ([]float32, error) {
	t, err := bindAny(r, name, shape)
	if err != nil {
		return nil, err
	}
	v := make([]float32, t.n)
	return v, t.Read(0, v)
}
