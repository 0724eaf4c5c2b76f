package deltaenc

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// The encoder as it was before encodeFile: each encoded tensor built apart,
// then the file encoded from them. Tests hold encodeFile to its bytes.

// encodeTensors is the encoded file as tensors apart from it: the
// reference encodeFile, which Encode uses, is tested against.
func encodeTensors(delta *checkpoint.File, e Encoding) (*checkpoint.File, error) {
	out := &checkpoint.File{Meta: map[string]string{}}
	for k, v := range delta.Meta {
		out.Meta[k] = v
	}
	out.Meta[MetaKey] = e.Tensors()
	for _, t := range delta.Tensors {
		if checkpoint.IsHead(t.Name) {
			out.Tensors = append(out.Tensors, t)
			continue
		}
		ts, err := encodeTensor(t, e)
		if err != nil {
			return nil, fmt.Errorf("deltaenc: encode tensor %q: %w", t.Name, err)
		}
		out.Tensors = append(out.Tensors, ts...)
	}
	return out, nil
}

// encodeTensor returns the stored tensor and its companions.
func encodeTensor(t checkpoint.Tensor, e Encoding) ([]checkpoint.Tensor, error) {
	if t.DType != checkpoint.F32 {
		return nil, fmt.Errorf("dtype %s; encode float32 deltas", t.DType)
	}
	v, err := t.F32View() // read only: the delta is not copied
	if err != nil {
		return nil, err
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("element %d is %v", i, x)
		}
	}
	rows, cols := rowsOf(t.Shape)
	var out []checkpoint.Tensor
	shape := t.Shape
	if e.Rows && len(t.Shape) >= 2 {
		kept := nonzeroRows(v, rows, cols)
		if len(kept) < rows {
			if rows > math.MaxInt32 {
				return nil, fmt.Errorf("%d rows do not fit int32 indices", rows)
			}
			v = gather(v, kept, cols)
			shape = append([]int{len(kept)}, t.Shape[1:]...)
			out = append(out, indexTensor(t.Name+RowsSuffix, kept))
			rows = len(kept)
		}
	}
	vals, err := encodeValues(t.Name, shape, v, rows, cols, e.Values)
	if err != nil {
		return nil, err
	}
	return append(vals, out...), nil
}

func gather(v []float32, kept []int, cols int) []float32 {
	out := make([]float32, 0, len(kept)*cols)
	for _, r := range kept {
		out = append(out, v[r*cols:(r+1)*cols]...)
	}
	return out
}

func indexTensor(name string, kept []int) checkpoint.Tensor {
	data := make([]byte, 4*len(kept))
	for i, r := range kept {
		binary.LittleEndian.PutUint32(data[4*i:], uint32(r))
	}
	return checkpoint.Tensor{Name: name, DType: checkpoint.I32, Shape: []int{len(kept)}, Data: data}
}

// encodeValues stores v (rows x cols) as the value type says, with the
// scale companion for int8.
func encodeValues(name string, shape []int, v []float32, rows, cols int, vt Values) ([]checkpoint.Tensor, error) {
	switch vt {
	case FP32:
		// Shares v, which is the delta's own data or the gathered rows;
		// checkpoint.Encode copies it into the file.
		return []checkpoint.Tensor{checkpoint.SharedF32(name, shape, v)}, nil
	case FP16, BF16:
		data, err := halves(v, vt)
		if err != nil {
			return nil, err
		}
		return []checkpoint.Tensor{{Name: name, DType: vt.DType(), Shape: clone(shape), Data: data}}, nil
	}
	data := make([]byte, len(v))
	scales := make([]float32, rows)
	for r := range rows {
		scales[r] = quantize(v[r*cols:(r+1)*cols], data[r*cols:(r+1)*cols])
	}
	return []checkpoint.Tensor{
		{Name: name, DType: checkpoint.I8, Shape: clone(shape), Data: data},
		checkpoint.NewF32(name+ScaleSuffix, []int{rows}, scales),
	}, nil
}

func halves(v []float32, vt Values) ([]byte, error) {
	conv := toHalf
	if vt == BF16 {
		conv = toBF16
	}
	data := make([]byte, 2*len(v))
	for i, x := range v {
		h, ok := conv(x)
		if !ok {
			return nil, fmt.Errorf("element %d = %v overflows %s", i, x, vt)
		}
		binary.LittleEndian.PutUint16(data[2*i:], h)
	}
	return data, nil
}
