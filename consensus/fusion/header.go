package fusion

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// header returns the canonical safetensors header (length prefix included)
// of the fused file. It is produced by checkpoint.Write itself, stopped
// once the header is out, so it cannot drift from checkpoint.Encode. The
// tensors' data are slices of scratch (at least 4*maxElem bytes), which
// Write never reaches.
func (p *plan) header(scratch []byte) ([]byte, error) {
	f := &checkpoint.File{Meta: p.base.Meta}
	for _, name := range p.names {
		_, shape, _ := p.base.Info(name)
		data := scratch[:4*elems(shape)]
		f.Tensors = append(f.Tensors, checkpoint.Tensor{Name: name, DType: checkpoint.F32, Shape: shape, Data: data})
	}
	var c headerCapture
	err := checkpoint.Write(&c, f)
	if err != nil && !errors.Is(err, errHeaderDone) {
		return nil, fmt.Errorf("build fused header: %w", err)
	}
	if !c.done {
		return nil, fmt.Errorf("build fused header: checkpoint.Write stopped early")
	}
	return c.buf, nil
}

var errHeaderDone = errors.New("header captured")

// headerCapture keeps the length prefix and the header, then refuses
// further writes.
type headerCapture struct {
	buf  []byte
	done bool
}

func (c *headerCapture) Write(b []byte) (int, error) {
	if c.done {
		return 0, errHeaderDone
	}
	c.buf = append(c.buf, b...)
	if len(c.buf) >= 8 {
		need := 8 + binary.LittleEndian.Uint64(c.buf[:8])
		if uint64(len(c.buf)) >= need {
			c.buf, c.done = c.buf[:need], true
		}
	}
	return len(b), nil
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
