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
