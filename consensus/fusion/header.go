package fusion

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// header returns the canonical safetensors header (length prefix included)
// of the fused file, from checkpoint.Header, which builds it exactly as
// checkpoint.Encode does.
func (p *plan) header() ([]byte, error) {
	layout := make([]checkpoint.Tensor, len(p.names))
	for i, name := range p.names {
		_, shape, _ := p.base.Info(name)
		layout[i] = checkpoint.Tensor{Name: name, DType: checkpoint.F32, Shape: shape}
	}
	h, err := checkpoint.Header(p.base.Meta, layout)
	if err != nil {
		return nil, fmt.Errorf("build fused header: %w", err)
	}
	return h, nil
}

// float32Bytes returns the little-endian bytes of v, sharing v's memory on
// little-endian processors.
func float32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	if littleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
	}
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func math32Bits(x float32) uint32 { return math.Float32bits(x) }

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1
