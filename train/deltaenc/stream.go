package deltaenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// part is one tensor of an encoded file: its name, dtype and shape, and
// how to write its data into the file (size bytes, never allocated apart).
type part struct {
	t    checkpoint.Tensor // Data unset for computed parts
	size int
	fill func(dst []byte) error
}

// encodeBytes is the safetensors file of delta in encoding e, before any
// zstd: delta itself when e has no tensor encoding (Dense, "dense+zstd").
func encodeBytes(delta *checkpoint.File, e Encoding) ([]byte, error) {
	if e.Tensors() == "" {
		return checkpoint.Encode(delta)
	}
	return encodeFile(delta, e)
}

// encodeFile returns the bytes of the old two-step encoder (encodeTensors,
// kept in reference_test.go, then checkpoint.Encode) for an
// encoding with a tensor encoding, in one allocation of the file's size:
// the header is computed from the shapes first, and every stored tensor
// is written straight into the file, so no encoded tensor exists apart
// from it.
func encodeFile(delta *checkpoint.File, e Encoding) ([]byte, error) {
	meta := make(map[string]string, len(delta.Meta)+1)
	for k, v := range delta.Meta {
		meta[k] = v
	}
	meta[MetaKey] = e.Tensors()
	var parts []part
	for _, t := range delta.Tensors {
		ps, err := planTensor(t, e)
		if err != nil {
			return nil, err
		}
		parts = append(parts, ps...)
	}
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].t.Name < parts[j].t.Name })
	return writeParts(meta, parts)
}

// writeParts writes the header of parts, sorted by name, then their data.
func writeParts(meta map[string]string, parts []part) ([]byte, error) {
	ts := make([]checkpoint.Tensor, len(parts))
	size := 0
	for i, p := range parts {
		if i > 0 && parts[i-1].t.Name == p.t.Name {
			return nil, fmt.Errorf("encode: duplicate tensor %q", p.t.Name)
		}
		ts[i] = p.t
		size += p.size
	}
	header, err := checkpoint.Header(meta, ts)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(header)+size)
	off := copy(out, header)
	for _, p := range parts {
		if err := p.fill(out[off : off+p.size]); err != nil {
			return nil, fmt.Errorf("deltaenc: encode tensor %q: %w", p.t.Name, err)
		}
		off += p.size
	}
	return out, nil
}

// planTensor checks one tensor of the delta and returns the parts it is
// stored as: a head tensor as it is; a body tensor as its values, its
// stored rows (under Rows, when some row is all +0) and its scales (int8).
func planTensor(t checkpoint.Tensor, e Encoding) ([]part, error) {
	if checkpoint.IsHead(t.Name) {
		p, err := asIs(t)
		return []part{p}, err
	}
	v, kept, err := checkTensor(t, e)
	if err != nil {
		return nil, fmt.Errorf("deltaenc: encode tensor %q: %w", t.Name, err)
	}
	rows, cols := rowsOf(t.Shape)
	shape := clone(t.Shape)
	var parts []part
	if kept != nil {
		shape[0] = len(kept)
		parts = append(parts, indexPart(t.Name+RowsSuffix, kept))
	}
	src := rowSource{v: v, kept: kept, rows: rows, cols: cols}
	return append(parts, valueParts(t.Name, shape, src, e.Values)...), nil
}

// asIs stores t's data unchanged; the data must match dtype and shape.
func asIs(t checkpoint.Tensor) (part, error) {
	n, err := t.DType.Size()
	if err != nil {
		return part{}, fmt.Errorf("deltaenc: tensor %q: %w", t.Name, err)
	}
	if len(t.Data) != n*t.Elems() {
		return part{}, fmt.Errorf("deltaenc: tensor %q: shape %v of %s needs %d bytes, has %d", t.Name, t.Shape, t.DType, n*t.Elems(), len(t.Data))
	}
	head := checkpoint.Tensor{Name: t.Name, DType: t.DType, Shape: t.Shape}
	return part{t: head, size: len(t.Data), fill: func(dst []byte) error { copy(dst, t.Data); return nil }}, nil
}

// checkTensor returns a body tensor's values (read in place) and, under
// Rows for a tensor of rank 2 or more with an all-+0 row, the rows kept.
func checkTensor(t checkpoint.Tensor, e Encoding) (v []float32, kept []int, err error) {
	if t.DType != checkpoint.F32 {
		return nil, nil, fmt.Errorf("dtype %s; encode float32 deltas", t.DType)
	}
	if v, err = t.F32View(); err != nil {
		return nil, nil, err
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, nil, fmt.Errorf("element %d is %v", i, x)
		}
	}
	if !e.Rows || len(t.Shape) < 2 {
		return v, nil, nil
	}
	rows, cols := rowsOf(t.Shape)
	kept = nonzeroRows(v, rows, cols)
	if len(kept) == rows {
		return v, nil, nil
	}
	if rows > math.MaxInt32 {
		return nil, nil, fmt.Errorf("%d rows do not fit int32 indices", rows)
	}
	return v, kept, nil
}

// rowSource is a tensor's stored rows: all rows of v, or those kept.
type rowSource struct {
	v          []float32
	kept       []int
	rows, cols int
}

func (s rowSource) stored() int {
	if s.kept != nil {
		return len(s.kept)
	}
	return s.rows
}

// row is the j-th stored row.
func (s rowSource) row(j int) []float32 {
	if s.kept != nil {
		j = s.kept[j]
	}
	return s.v[j*s.cols : (j+1)*s.cols]
}

func indexPart(name string, kept []int) part {
	return part{t: checkpoint.Tensor{Name: name, DType: checkpoint.I32, Shape: []int{len(kept)}}, size: 4 * len(kept),
		fill: func(dst []byte) error {
			for i, r := range kept {
				binary.LittleEndian.PutUint32(dst[4*i:], uint32(r))
			}
			return nil
		}}
}

// valueParts stores the rows of src as the value type says, with the
// scale companion for int8 (filled by the values' part, which sorts
// first: name is a prefix of name+ScaleSuffix).
func valueParts(name string, shape []int, src rowSource, vt Values) []part {
	n, cols := src.stored(), src.cols
	vals := part{t: checkpoint.Tensor{Name: name, DType: vt.DType(), Shape: shape}}
	switch vt {
	case FP32:
		vals.size, vals.fill = 4*n*cols, func(dst []byte) error { return fill32(dst, src) }
		return []part{vals}
	case FP16, BF16:
		vals.size, vals.fill = 2*n*cols, func(dst []byte) error { return fillHalves(dst, src, vt) }
		return []part{vals}
	}
	var scales []float32
	vals.size = n * cols
	vals.fill = func(dst []byte) error {
		scales = make([]float32, n)
		for j := range n {
			scales[j] = quantize(src.row(j), dst[j*cols:(j+1)*cols])
		}
		return nil
	}
	scale := part{t: checkpoint.Tensor{Name: name + ScaleSuffix, DType: checkpoint.F32, Shape: []int{n}}, size: 4 * n,
		fill: func(dst []byte) error {
			if scales == nil {
				return fmt.Errorf("scales written before the values")
			}
			for j, s := range scales {
				binary.LittleEndian.PutUint32(dst[4*j:], math.Float32bits(s))
			}
			return nil
		}}
	return []part{vals, scale}
}

func fill32(dst []byte, src rowSource) error {
	off := 0
	for j := range src.stored() {
		for _, x := range src.row(j) {
			binary.LittleEndian.PutUint32(dst[off:], math.Float32bits(x))
			off += 4
		}
	}
	return nil
}

func fillHalves(dst []byte, src rowSource, vt Values) error {
	conv := toHalf
	if vt == BF16 {
		conv = toBF16
	}
	i := 0
	for j := range src.stored() {
		for _, x := range src.row(j) {
			h, ok := conv(x)
			if !ok {
				return fmt.Errorf("element %d = %v overflows %s", i, x, vt)
			}
			binary.LittleEndian.PutUint16(dst[2*i:], h)
			i++
		}
	}
	return nil
}
