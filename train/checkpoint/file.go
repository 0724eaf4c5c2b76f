package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"unicode/utf8"
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

// Encode returns the canonical safetensors bytes of f, in one allocation of
// exactly the file's size.
func Encode(f *File) ([]byte, error) {
	header, ts, err := buildHeader(f)
	if err != nil {
		return nil, err
	}
	size := 8 + len(header)
	for _, t := range ts {
		size += len(t.Data)
	}
	out := binary.LittleEndian.AppendUint64(make([]byte, 0, size), uint64(len(header)))
	out = append(out, header...)
	for _, t := range ts {
		out = append(out, t.Data...)
	}
	return out, nil
}

// Write writes the canonical safetensors bytes of f to w.
func Write(w io.Writer, f *File) error {
	header, ts, err := buildHeader(f)
	if err != nil {
		return err
	}
	return writeParts(w, header, ts)
}

// writeParts writes the header length, the header and the tensors' data.
func writeParts(w io.Writer, header []byte, ts []Tensor) error {
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
	sizes := make([]int64, len(ts))
	if err := checkMeta(f.Meta); err != nil {
		return nil, nil, fmt.Errorf("encode: %w", err)
	}
	for i, t := range ts {
		if i > 0 && ts[i-1].Name == t.Name {
			return nil, nil, fmt.Errorf("encode: duplicate tensor %q", t.Name)
		}
		if err := checkEncodable(t); err != nil {
			return nil, nil, fmt.Errorf("encode: %w", err)
		}
		sizes[i] = int64(len(t.Data))
	}
	header, err := encodeHeader(f.Meta, ts, sizes)
	return header, ts, err
}

// encodeHeader builds the padded JSON header for tensors ts, sorted by
// name, whose data sizes are sizes.
func encodeHeader(meta map[string]string, ts []Tensor, sizes []int64) ([]byte, error) {
	h := make(map[string]any, len(ts)+1)
	if err := checkMeta(meta); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	if len(meta) > 0 {
		h[metadataKey] = meta
	}
	var off int64
	for i, t := range ts {
		if i > 0 && ts[i-1].Name == t.Name {
			return nil, fmt.Errorf("encode: duplicate tensor %q", t.Name)
		}
		end := off + sizes[i]
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		h[t.Name] = entry{DType: t.DType, Shape: shape, Offsets: [2]int64{off, end}}
		off = end
	}
	header, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode header: %w", err)
	}
	for len(header)%8 != 0 {
		header = append(header, ' ')
	}
	return header, nil
}

// metadataKey is the header key that holds File.Meta, so no tensor may use it.
const metadataKey = "__metadata__"

// checkEncodable rejects what Decode could not read back as given: a reserved
// or non-UTF-8 name, or data that does not match dtype and shape.
func checkEncodable(t Tensor) error {
	if t.Name == metadataKey {
		return fmt.Errorf("tensor name %q is reserved for metadata", t.Name)
	}
	if !utf8.ValidString(t.Name) {
		return fmt.Errorf("tensor name %q is not valid UTF-8", t.Name)
	}
	return t.check()
}

// checkMeta rejects metadata JSON could not carry unchanged.
func checkMeta(m map[string]string) error {
	for k, v := range m {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("metadata %q: not valid UTF-8", k)
		}
	}
	return nil
}

// Save writes f to path atomically: a temporary file in the same directory,
// synced, then renamed over path. The tensors are written one after the
// other as they are; no encoded copy of the file is made in memory.
func Save(path string, f *File) error {
	header, ts, err := buildHeader(f)
	if err != nil {
		return err
	}
	return writeAtomic(path, func(w io.Writer) error { return writeParts(w, header, ts) })
}

// WriteFileAtomic writes data to path so that a crash leaves either the old
// file or the new one, never a torn mix.
func WriteFileAtomic(path string, data []byte) error {
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func writeAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
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
