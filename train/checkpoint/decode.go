package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"unicode/utf8"
)

// Decode parses safetensors bytes. Tensor data is copied out of b, and the
// returned tensors are sorted by name.
func Decode(b []byte) (*File, error) {
	r, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	f := &File{Meta: r.Meta}
	for _, name := range r.Names() {
		t, err := r.Tensor(name)
		if err != nil {
			return nil, err
		}
		f.Tensors = append(f.Tensors, t)
	}
	return f, nil
}

// Reader gives access to one tensor at a time of a safetensors file, so a
// caller can stream a large checkpoint without holding it whole.
type Reader struct {
	Meta    map[string]string
	src     io.ReaderAt
	base    int64
	entries map[string]entry
	names   []string
}

// Open reads and validates the header of a safetensors file of the given size.
func Open(src io.ReaderAt, size int64) (*Reader, error) {
	if size < 8 {
		return nil, corrupt("file of %d bytes is shorter than the 8-byte header length", size)
	}
	var n [8]byte
	if _, err := src.ReadAt(n[:], 0); err != nil {
		return nil, fmt.Errorf("read header length: %w", err)
	}
	hlen := binary.LittleEndian.Uint64(n[:])
	if hlen > MaxHeaderSize || int64(hlen) > size-8 {
		return nil, corrupt("header length %d exceeds the file (%d bytes) or the %d-byte cap", hlen, size, MaxHeaderSize)
	}
	header := make([]byte, hlen)
	if _, err := src.ReadAt(header, 8); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	r := &Reader{src: src, base: 8 + int64(hlen)}
	if err := r.parseHeader(header); err != nil {
		return nil, err
	}
	if err := r.checkLayout(size - r.base); err != nil {
		return nil, err
	}
	return r, nil
}

// Names returns the tensor names in ascending order.
func (r *Reader) Names() []string { return r.names }

// Info returns a tensor's dtype and shape without reading its data.
func (r *Reader) Info(name string) (DType, []int, bool) {
	e, ok := r.entries[name]
	return e.DType, e.Shape, ok
}

// Tensor reads one tensor's data.
func (r *Reader) Tensor(name string) (Tensor, error) {
	e, ok := r.entries[name]
	if !ok {
		return Tensor{}, fmt.Errorf("no tensor %q", name)
	}
	data := make([]byte, e.Offsets[1]-e.Offsets[0])
	if _, err := r.src.ReadAt(data, r.base+e.Offsets[0]); err != nil {
		return Tensor{}, fmt.Errorf("read tensor %q: %w", name, err)
	}
	return Tensor{Name: name, DType: e.DType, Shape: e.Shape, Data: data}, nil
}

func (r *Reader) parseHeader(header []byte) error {
	if !utf8.Valid(header) {
		return corrupt("header is not valid UTF-8")
	}
	raw, err := decodeObject(header)
	if err != nil {
		return corrupt("header: %v", err)
	}
	r.entries = make(map[string]entry, len(raw))
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &r.Meta); err != nil {
				return corrupt("__metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		e, err := decodeEntry(name, msg)
		if err != nil {
			return err
		}
		r.entries[name] = e
		r.names = append(r.names, name)
	}
	sort.Strings(r.names)
	return nil
}

// decodeObject decodes a JSON object, rejecting duplicate keys, which
// encoding/json would otherwise resolve silently.
func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	out := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string)
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("key %q: %v", key, err)
		}
		out[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

func decodeEntry(name string, msg json.RawMessage) (entry, error) {
	var e entry
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return e, corrupt("tensor %q: %v", name, err)
	}
	if e.Shape == nil {
		e.Shape = []int{}
	}
	size, err := e.DType.Size()
	if err != nil {
		return e, corrupt("tensor %q: %v", name, err)
	}
	t := Tensor{Name: name, DType: e.DType, Shape: e.Shape}
	if e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] {
		return e, corrupt("tensor %q: bad data_offsets %v", name, e.Offsets)
	}
	t.Data = nil
	n := int64(1)
	for _, d := range e.Shape {
		if d < 0 || (d > 0 && n > (1<<40)/int64(d)) {
			return e, corrupt("tensor %q: bad shape %v", name, e.Shape)
		}
		n *= int64(d)
	}
	if n*int64(size) != e.Offsets[1]-e.Offsets[0] {
		return e, corrupt("tensor %q: shape %v of %s needs %d bytes, offsets give %d",
			name, t.Shape, t.DType, n*int64(size), e.Offsets[1]-e.Offsets[0])
	}
	return e, nil
}

// checkLayout requires the tensors' byte ranges to tile the data section
// exactly: no overlap, no gap, nothing past the end.
func (r *Reader) checkLayout(dataSize int64) error {
	ranges := make([][2]int64, 0, len(r.entries))
	for _, e := range r.entries {
		ranges = append(ranges, e.Offsets)
	}
	sort.Slice(ranges, func(i, j int) bool {
		if ranges[i][0] != ranges[j][0] {
			return ranges[i][0] < ranges[j][0]
		}
		return ranges[i][1] < ranges[j][1]
	})
	var pos int64
	for _, rg := range ranges {
		if rg[0] != pos {
			return corrupt("tensor data at offset %d: overlap or gap (expected %d)", rg[0], pos)
		}
		pos = rg[1]
	}
	if pos != dataSize {
		return corrupt("tensor data covers %d bytes, data section has %d", pos, dataSize)
	}
	return nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}
