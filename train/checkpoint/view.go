package checkpoint

import (
	"bytes"
	"fmt"
)

// OpenBytes is Open over a whole file held in memory (read into a slice or
// memory-mapped). Besides everything Open gives, its Reader can View
// tensor data in place, without copying. b must not change while the
// Reader is in use.
func OpenBytes(b []byte) (*Reader, error) {
	r, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	r.mem = b
	return r, nil
}

// DecodeShared is Decode without the copy: the tensors' Data are slices of
// b itself, so the File holds no second copy of the checkpoint. b must not
// change while the File is in use, and writes to a tensor's Data change b.
func DecodeShared(b []byte) (*File, error) {
	r, err := OpenBytes(b)
	if err != nil {
		return nil, err
	}
	f := &File{Meta: r.Meta}
	for _, name := range r.names {
		e := r.entries[name]
		start, end := r.base+e.Offsets[0], r.base+e.Offsets[1]
		f.Tensors = append(f.Tensors, Tensor{Name: name, DType: e.DType, Shape: append([]int{}, e.Shape...), Data: b[start:end:end]})
	}
	return f, nil
}

// View returns n bytes of a tensor's raw data starting at byte offset off,
// sharing memory with the file, when the Reader came from OpenBytes; ok is
// false otherwise (use ReadRangeInto). The range must lie inside the
// tensor. The caller must not write to the returned slice.
func (r *Reader) View(name string, off, n int64) (data []byte, ok bool, err error) {
	e, found := r.entries[name]
	if !found {
		return nil, false, fmt.Errorf("no tensor %q", name)
	}
	size := e.Offsets[1] - e.Offsets[0]
	if off < 0 || n < 0 || off > size || n > size-off {
		return nil, false, fmt.Errorf("view tensor %q: bytes [%d, %d) outside its %d bytes", name, off, off+n, size)
	}
	if r.mem == nil {
		return nil, false, nil
	}
	start := r.base + e.Offsets[0] + off
	return r.mem[start : start+n : start+n], true, nil
}
