package checkpoint

import "fmt"

// Size returns the byte size of a tensor's data without reading it.
func (r *Reader) Size(name string) (int64, bool) {
	e, ok := r.entries[name]
	return e.Offsets[1] - e.Offsets[0], ok
}

// ReadInto fills dst with a tensor's raw little-endian data, which must be
// exactly len(dst) bytes. Unlike Tensor it allocates nothing, so a caller
// streaming many tensors can reuse one buffer.
func (r *Reader) ReadInto(name string, dst []byte) error {
	size, ok := r.Size(name)
	if !ok {
		return fmt.Errorf("no tensor %q", name)
	}
	if int64(len(dst)) != size {
		return fmt.Errorf("read tensor %q: buffer of %d bytes, tensor has %d", name, len(dst), size)
	}
	return r.ReadRangeInto(name, 0, dst)
}

// ReadRangeInto fills dst with the bytes of a tensor's raw data starting
// at byte offset off of that data; the range must lie inside the tensor.
// It lets a caller stream one tensor in pieces with a fixed buffer.
func (r *Reader) ReadRangeInto(name string, off int64, dst []byte) error {
	e, ok := r.entries[name]
	if !ok {
		return fmt.Errorf("no tensor %q", name)
	}
	size := e.Offsets[1] - e.Offsets[0]
	if off < 0 || off > size || int64(len(dst)) > size-off {
		return fmt.Errorf("read tensor %q: bytes [%d, %d) outside its %d bytes", name, off, off+int64(len(dst)), size)
	}
	if err := readAt(r.src, dst, r.base+e.Offsets[0]+off); err != nil {
		return fmt.Errorf("read tensor %q: %w", name, err)
	}
	return nil
}
