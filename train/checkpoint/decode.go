package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
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
	mem     []byte // the whole file, when opened with OpenBytes
}

// Open reads and validates the header of a safetensors file of the given size.
func Open(src io.ReaderAt, size int64) (*Reader, error) {
	if size < 8 {
		return nil, corrupt("file of %d bytes is shorter than the 8-byte header length", size)
	}
	var n [8]byte
	if err := readAt(src, n[:], 0); err != nil {
		return nil, fmt.Errorf("read header length: %w", err)
	}
	hlen := binary.LittleEndian.Uint64(n[:])
	if hlen > MaxHeaderSize || int64(hlen) > size-8 {
		return nil, corrupt("header length %d exceeds the file (%d bytes) or the %d-byte cap", hlen, size, MaxHeaderSize)
	}
	header := make([]byte, hlen)
	if err := readAt(src, header, 8); err != nil {
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

// readAt fills p from src at off. A ReaderAt may report io.EOF along with a
// full read at the end of its input; that is success, and so is an empty p.
func readAt(src io.ReaderAt, p []byte, off int64) error {
	if len(p) == 0 {
		return nil
	}
	n, err := src.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Names returns the tensor names in ascending order, in a new slice.
func (r *Reader) Names() []string { return append([]string(nil), r.names...) }

// Info returns a tensor's dtype and shape without reading its data.
func (r *Reader) Info(name string) (DType, []int, bool) {
	e, ok := r.entries[name]
	return e.DType, append([]int{}, e.Shape...), ok
}

// Tensor reads one tensor's data.
func (r *Reader) Tensor(name string) (Tensor, error) {
	e, ok := r.entries[name]
	if !ok {
		return Tensor{}, fmt.Errorf("no tensor %q", name)
	}
	data := make([]byte, e.Offsets[1]-e.Offsets[0])
	if err := readAt(r.src, data, r.base+e.Offsets[0]); err != nil {
		return Tensor{}, fmt.Errorf("read tensor %q: %w", name, err)
	}
	return Tensor{Name: name, DType: e.DType, Shape: append([]int{}, e.Shape...), Data: data}, nil
}

func (r *Reader) parseHeader(header []byte) error {
	if !utf8.Valid(header) {
		return corrupt("header is not valid UTF-8")
	}
	raw, order, err := decodeObject(header)
	if err != nil {
		return corrupt("header: %v", err)
	}
	r.entries = make(map[string]entry, len(raw))
	for _, name := range order {
		msg := raw[name]
		if name == metadataKey {
			if r.Meta, err = decodeMeta(msg); err != nil {
				return err
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

// decodeObject decodes a JSON object into its members and their keys in
// file order (so errors are reported deterministically), rejecting
// duplicate keys, which encoding/json would otherwise resolve silently, and
// anything after the object but white space.
func decodeObject(b []byte) (map[string]json.RawMessage, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("not a JSON object")
	}
	out := make(map[string]json.RawMessage)
	var order []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key := tok.(string)
		if _, dup := out[key]; dup {
			return nil, nil, fmt.Errorf("duplicate key %q", key)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("key %q: %v", key, err)
		}
		out[key] = v
		order = append(order, key)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, fmt.Errorf("data after the JSON object")
	}
	return out, order, nil
}

// decodeMeta decodes __metadata__: an object of string values (or null).
func decodeMeta(msg json.RawMessage) (map[string]string, error) {
	if string(msg) == "null" {
		return nil, nil
	}
	raw, order, err := decodeObject(msg)
	if err != nil {
		return nil, corrupt("%s: %v", metadataKey, err)
	}
	meta := make(map[string]string, len(raw))
	for _, k := range order {
		v := raw[k]
		var s string
		if err := json.Unmarshal(v, &s); err != nil || string(v) == "null" {
			return nil, corrupt("%s: value of %q is %s, not a string", metadataKey, k, v)
		}
		meta[k] = s
	}
	return meta, nil
}

func decodeEntry(name string, msg json.RawMessage) (entry, error) {
	var e entry
	raw, order, err := decodeObject(msg)
	if err != nil {
		return e, corrupt("tensor %q: %v", name, err)
	}
	if err := decodeFields(raw, order, &e); err != nil {
		return e, corrupt("tensor %q: %v", name, err)
	}
	if e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] {
		return e, corrupt("tensor %q: bad data_offsets %v", name, e.Offsets)
	}
	need, err := byteSize(e.DType, e.Shape)
	if err != nil {
		return e, corrupt("tensor %q: %v", name, err)
	}
	if need != e.Offsets[1]-e.Offsets[0] {
		return e, corrupt("tensor %q: shape %v of %s needs %d bytes, offsets give %d",
			name, e.Shape, e.DType, need, e.Offsets[1]-e.Offsets[0])
	}
	return e, nil
}

// entryKeys are the fields of a tensor entry, all required.
var entryKeys = []string{"dtype", "shape", "data_offsets"}

// decodeFields fills e from an entry object (members raw, keys in order),
// which must have exactly the keys dtype, shape and data_offsets (a pair of
// numbers).
func decodeFields(raw map[string]json.RawMessage, order []string, e *entry) error {
	for _, key := range order {
		if !slices.Contains(entryKeys, key) {
			return fmt.Errorf("unknown field %q", key)
		}
	}
	var offsets []int64
	targets := []any{&e.DType, &e.Shape, &offsets}
	for i, key := range entryKeys {
		v, ok := raw[key]
		if !ok || string(v) == "null" {
			return fmt.Errorf("missing field %q", key)
		}
		if err := json.Unmarshal(v, targets[i]); err != nil {
			return fmt.Errorf("field %q: %v", key, err)
		}
	}
	if len(offsets) != 2 {
		return fmt.Errorf("data_offsets has %d numbers, want 2", len(offsets))
	}
	e.Offsets = [2]int64{offsets[0], offsets[1]}
	return nil
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
