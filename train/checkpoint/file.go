package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// MaxHeaderSize bounds the JSON header a decoder will read (100 MiB, as the
// reference implementation does), so a hostile length cannot exhaust memory.
const MaxHeaderSize = 100 << 20

// ErrCorrupt is wrapped by every error that describes malformed input.
var ErrCorrupt = errors.New("corrupt safetensors")

// File is a whole checkpoint: free-form string metadata and its tensors.
type File struct {
	Meta    map[string]string
	Tensors []Tensor
}

// Get returns the tensor with the given name.
func (f *File) Get(name string) (Tensor, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// Sort orders the tensors by name, the order Encode writes.
func (f *File) Sort() {
	sort.Slice(f.Tensors, func(i, j int) bool { return f.Tensors[i].Name < f.Tensors[j].Name })
}

// Body returns a file with the same metadata and only the body tensors.
func (f *File) Body() *File {
	return f.filter(func(name string) bool { return !IsHead(name) })
}

// Head returns a file with the same metadata and only the head tensors.
func (f *File) Head() *File {
	return f.filter(IsHead)
}

func (f *File) filter(keep func(string) bool) *File {
	out := &File{Meta: cloneMeta(f.Meta)}
	for _, t := range f.Tensors {
		if keep(t.Name) {
			out.Tensors = append(out.Tensors, t)
		}
	}
	return out
}

func cloneMeta(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

type entry struct {
	DType   DType    `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// Encode returns the canonical safetensors bytes of f.
func Encode(f *File) ([]byte, error) {
	var buf bytes.Buffer
	if err := Write(&buf, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write writes the canonical safetensors bytes of f to w.
func Write(w io.Writer, f *File) error {
	header, ts, err := buildHeader(f)
	if err != nil {
		return err
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	for _, t := range ts {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

func buildHeader(f *File) ([]byte, []Tensor, error) {
	ts := append([]Tensor(nil), f.Tensors...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	h := make(map[string]any, len(ts)+1)
	if len(f.Meta) > 0 {
		h["__metadata__"] = f.Meta
	}
	var off int64
	for i, t := range ts {
		if i > 0 && ts[i-1].Name == t.Name {
			return nil, nil, fmt.Errorf("encode: duplicate tensor %q", t.Name)
		}
		if err := checkSize(t); err != nil {
			return nil, nil, fmt.Errorf("encode: %w", err)
		}
		end := off + int64(len(t.Data))
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		h[t.Name] = entry{DType: t.DType, Shape: shape, Offsets: [2]int64{off, end}}
		off = end
	}
	header, err := json.Marshal(h)
	if err != nil {
		return nil, nil, fmt.Errorf("encode header: %w", err)
	}
	for len(header)%8 != 0 {
		header = append(header, ' ')
	}
	return header, ts, nil
}

func checkSize(t Tensor) error {
	size, err := t.DType.Size()
	if err != nil {
		return fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	n := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("tensor %q: negative dimension %d", t.Name, d)
		}
		n *= int64(d)
		if n > 1<<40 {
			return fmt.Errorf("tensor %q: shape %v too large", t.Name, t.Shape)
		}
	}
	if n*int64(size) != int64(len(t.Data)) {
		return fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, has %d",
			t.Name, t.Shape, t.DType, n*int64(size), len(t.Data))
	}
	return nil
}

// Save writes f to path atomically: a temporary file in the same directory,
// synced, then renamed over path.
func Save(path string, f *File) error {
	data, err := Encode(f)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, data)
}

// WriteFileAtomic writes data to path so that a crash leaves either the old
// file or the new one, never a torn mix.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Load reads and decodes the safetensors file at path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
