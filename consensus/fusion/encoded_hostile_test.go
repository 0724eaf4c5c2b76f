package fusion

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
	"github.com/klauspost/compress/zstd"
)

// Malformed encoded deltas (issue 8): each is rejected by Check and by
// Fuse with a *DeltaError naming the delta and the tensor, wrapping
// ErrMismatch and deltaenc.ErrEncoding, so the caller can drop it.

func encBase() *checkpoint.File {
	return &checkpoint.File{Tensors: []checkpoint.Tensor{
		checkpoint.NewF32("body.emb", []int{4, 2}, []float32{1, 2, 3, 4, 5, 6, 7, 8}),
		checkpoint.NewF32("body.b", []int{2}, []float32{1, 1}),
	}}
}

func ti32(name string, v ...int32) checkpoint.Tensor {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], uint32(x))
	}
	return checkpoint.Tensor{Name: name, DType: checkpoint.I32, Shape: []int{len(v)}, Data: data}
}

func ti8(name string, shape []int, v ...int8) checkpoint.Tensor {
	data := make([]byte, len(v))
	for i, x := range v {
		data[i] = byte(x)
	}
	return checkpoint.Tensor{Name: name, DType: checkpoint.I8, Shape: shape, Data: data}
}

func tf32(name string, shape []int, v ...float32) checkpoint.Tensor {
	return checkpoint.NewF32(name, shape, v)
}

func tf16(name string, shape []int, v ...uint16) checkpoint.Tensor {
	data := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(data[2*i:], x)
	}
	return checkpoint.Tensor{Name: name, DType: checkpoint.F16, Shape: shape, Data: data}
}

// encFile is an encoded delta: the body.b bias done right, plus ts.
func encFile(enc string, ts ...checkpoint.Tensor) []byte {
	f := &checkpoint.File{Meta: map[string]string{deltaenc.MetaKey: enc}, Tensors: ts}
	switch {
	case strings.Contains(enc, "int8"):
		f.Tensors = append(f.Tensors, ti8("body.b", []int{2}, 127, -127), tf32("body.b#scale", []int{1}, 0.01))
	case strings.Contains(enc, "fp16"):
		f.Tensors = append(f.Tensors, tf16("body.b", []int{2}, 0x3c00, 0x3c00))
	default:
		f.Tensors = append(f.Tensors, tf32("body.b", []int{2}, 1, 1))
	}
	b, err := checkpoint.Encode(f)
	if err != nil {
		panic(err)
	}
	return b
}

type hostileEnc struct {
	file   []byte
	tensor string // the tensor the error must name ("" for the file)
	want   string // in the error text
}

func hostileEncoded() map[string]hostileEnc {
	emb := []int{2, 2}
	good := func(ts ...checkpoint.Tensor) []checkpoint.Tensor {
		return append([]checkpoint.Tensor{ti8("body.emb", emb, 1, 2, 3, 4)}, ts...)
	}
	return map[string]hostileEnc{
		"index unsorted": {encFile("rows+int8", good(ti32("body.emb#rows", 2, 1), tf32("body.emb#scale", []int{2}, 1, 1))...), "body.emb", "strictly increasing"},
		"index repeated": {encFile("rows+int8", good(ti32("body.emb#rows", 1, 1), tf32("body.emb#scale", []int{2}, 1, 1))...), "body.emb", "strictly increasing"},
		"row too large":  {encFile("rows+int8", good(ti32("body.emb#rows", 1, 4), tf32("body.emb#scale", []int{2}, 1, 1))...), "body.emb", "outside rows 0..3"},
		"row negative":   {encFile("rows+int8", good(ti32("body.emb#rows", -1, 2), tf32("body.emb#scale", []int{2}, 1, 1))...), "body.emb", "outside rows"},
		"index dtype": {encFile("rows+int8", good(tf32("body.emb#rows", []int{2}, 0, 1), tf32("body.emb#scale", []int{2}, 1, 1))...),
			"body.emb", "want I32"},
		"index count": {encFile("rows+int8", good(ti32("body.emb#rows", 0, 1, 2), tf32("body.emb#scale", []int{3}, 1, 1, 1))...),
			"body.emb", "shape [2 2], want [3 2]"},
		"scale shape":    {encFile("rows+int8", good(ti32("body.emb#rows", 0, 3), tf32("body.emb#scale", []int{4}, 1, 1, 1, 1))...), "body.emb", "want F32 [2]"},
		"scale missing":  {encFile("int8", ti8("body.emb", []int{4, 2}, 1, 2, 3, 4, 5, 6, 7, 8)), "body.emb", "without body.emb#scale"},
		"scale negative": {encFile("int8", ti8("body.emb", []int{4, 2}, 1, 2, 3, 4, 5, 6, 7, 8), tf32("body.emb#scale", []int{4}, 1, -1, 1, 1)), "body.emb", "non-negative"},
		"scale nan":      {encFile("int8", ti8("body.emb", []int{4, 2}, 1, 2, 3, 4, 5, 6, 7, 8), tf32("body.emb#scale", []int{4}, 1, float32(math.NaN()), 1, 1)), "body.emb", "non-negative"},
		"scale in fp16":  {encFile("fp16", tf16("body.emb", []int{4, 2}, 0, 0, 0, 0, 0, 0, 0, 0), tf32("body.emb#scale", []int{4}, 1, 1, 1, 1)), "body.emb", "has no scales"},
		"rows not rows":  {encFile("fp16", tf16("body.emb", emb, 0, 0, 0, 0), ti32("body.emb#rows", 0, 1)), "body.emb", "under \"rows\""},
		"rows of bias":   {encFile("rows", tf32("body.emb", []int{4, 2}, 0, 0, 0, 0, 0, 0, 0, 0), ti32("body.b#rows", 0)), "body.b", "rank-2"},
		"value dtype":    {encFile("int8", tf16("body.emb", []int{4, 2}, 0, 0, 0, 0, 0, 0, 0, 0), tf32("body.emb#scale", []int{4}, 1, 1, 1, 1)), "body.emb", "dtype F16, encoding \"int8\" stores I8"},
		"dense shape":    {encFile("fp16", tf16("body.emb", []int{2, 4}, 0, 0, 0, 0, 0, 0, 0, 0)), "body.emb", "shape [2 4], base has [4 2]"},
		"encoding name":  {encFile("rows+fp8", tf32("body.emb", []int{4, 2}, 0, 0, 0, 0, 0, 0, 0, 0)), "body.b", "unknown part \"fp8\""},
		"encoding zstd":  {encFile("rows+zstd", tf32("body.emb", []int{4, 2}, 0, 0, 0, 0, 0, 0, 0, 0)), "body.b", "not a tensor encoding"},
	}
}

func TestEncodedHostileRejected(t *testing.T) {
	for name, h := range hostileEncoded() {
		r, err := OpenDelta(h.file, open(t, encBase()))
		if err != nil {
			t.Fatalf("%s: OpenDelta: %v", name, err)
		}
		in := Input{ID: "evil", Delta: r}
		checkErr := Check(open(t, encBase()), in)
		_, fuseErr := Fuse(&bytes.Buffer{}, open(t, encBase()), []Input{in}, DefaultRule)
		for what, err := range map[string]error{"Check": checkErr, "Fuse": fuseErr} {
			var de *DeltaError
			if !errors.As(err, &de) || de.ID != "evil" || de.Tensor != h.tensor || !errors.Is(err, ErrMismatch) ||
				!errors.Is(err, deltaenc.ErrEncoding) || !strings.Contains(err.Error(), h.want) {
				t.Errorf("%s: %s = %v, want a *DeltaError for tensor %q containing %q", name, what, err, h.tensor, h.want)
			}
		}
	}
}

// Companion tensors are not accepted in a plain delta, and NaN carried in
// an encoded value is ErrNonFinite naming the tensor.
func TestEncodedHostileValues(t *testing.T) {
	plain := encFile("", tf32("body.emb", []int{4, 2}, 0, 0, 0, 0, 0, 0, 0, 0), ti32("body.emb#rows", 0))
	f, _ := checkpoint.Decode(plain)
	delete(f.Meta, deltaenc.MetaKey)
	plain, _ = checkpoint.Encode(f)
	r, _ := OpenDelta(plain, open(t, encBase()))
	if err := Check(open(t, encBase()), Input{ID: "p", Delta: r}); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "not in the base") {
		t.Errorf("plain delta with a companion: %v", err)
	}
	nan := encFile("rows+fp16", tf16("body.emb", []int{1, 2}, 0, 0x7e00), ti32("body.emb#rows", 2))
	r, _ = OpenDelta(nan, open(t, encBase()))
	err := Check(open(t, encBase()), Input{ID: "n", Delta: r})
	var de *DeltaError
	if !errors.Is(err, ErrNonFinite) || !errors.As(err, &de) || de.Tensor != "body.emb" || !strings.Contains(err.Error(), "element 5") {
		t.Errorf("NaN in an fp16 row: %v", err)
	}
}

// A zstd bomb (a small frame inflating far past the layout) fails in
// OpenDelta, before any tensor is read; so does a corrupt frame.
func TestEncodedZstdBomb(t *testing.T) {
	base := open(t, encBase())
	enc, _ := zstd.NewWriter(nil)
	defer enc.Close()
	for name, frame := range map[string][]byte{
		"bomb":    enc.EncodeAll(make([]byte, 32<<20), nil),
		"corrupt": append([]byte{0x28, 0xb5, 0x2f, 0xfd}, bytes.Repeat([]byte{0xff}, 40)...),
	} {
		_, err := OpenDelta(frame, base)
		if !errors.Is(err, ErrMismatch) || !errors.Is(err, deltaenc.ErrEncoding) || !strings.Contains(err.Error(), "zstd") {
			t.Errorf("%s: OpenDelta = %v", name, err)
		}
	}
}

// FuzzEncodedDelta feeds arbitrary bytes as a delta file: OpenDelta and
// Check never panic, and a delta Check accepts always fuses.
func FuzzEncodedDelta(f *testing.F) {
	for _, s := range []string{"rows+int8+zstd", "fp16", "rows+bf16", "int8"} {
		e, _ := deltaenc.Parse(s)
		b, err := deltaenc.Encode(&checkpoint.File{Tensors: []checkpoint.Tensor{
			tf32("body.emb", []int{4, 2}, 0, 0, 0.5, -0.25, 0, 0, 1e-3, 2),
			tf32("body.b", []int{2}, 0.1, -0.1),
		}}, e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, h := range hostileEncoded() {
		f.Add(h.file)
	}
	baseBytes, _ := checkpoint.Encode(encBase())
	f.Fuzz(func(t *testing.T, b []byte) {
		base, err := checkpoint.OpenBytes(baseBytes)
		if err != nil {
			t.Fatal(err)
		}
		r, err := OpenDelta(b, base)
		if err != nil {
			return
		}
		in := Input{ID: "x", Delta: r}
		if Check(base, in) != nil {
			return
		}
		if _, err := Fuse(&bytes.Buffer{}, base, []Input{in, in}, Rule{Kind: Median, Clip: 1}); err != nil && !errors.Is(err, ErrOverflow) {
			t.Fatalf("Check accepted a delta Fuse rejects: %v", err)
		}
	})
}
