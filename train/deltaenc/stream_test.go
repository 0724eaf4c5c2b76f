package deltaenc

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// reference is the encoded file built the way Encode built it before it
// wrote tensors straight into the file: every tensor encoded apart, then
// the file.
func reference(t *testing.T, d *checkpoint.File, e Encoding) []byte {
	t.Helper()
	f := d // no tensor encoding: the delta as it is
	if e.Tensors() != "" {
		var err error
		if f, err = encodeTensors(d, e); err != nil {
			t.Fatal(err)
		}
	}
	b, err := checkpoint.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// denseDelta has no all-zero row, its tensors out of name order, and a
// tensor whose name sorts between another and its companions.
func denseDelta(seed uint64) *checkpoint.File {
	rng := rand.New(rand.NewPCG(seed, 3))
	vals := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	return &checkpoint.File{Meta: map[string]string{"coldnode.delta": "1", "other": "x"}, Tensors: []checkpoint.Tensor{
		checkpoint.NewF32("body.b", []int{3, 7}, vals(21)),
		checkpoint.NewF32("body.a", []int{4, 2, 3}, vals(24)),
		checkpoint.NewF32("body.a$", []int{5}, vals(5)),
		checkpoint.NewF32("body.empty", []int{0, 4}, nil),
		checkpoint.NewF32("head.w", []int{2}, vals(2)),
	}}
}

// Writing tensors straight into the file gives the bytes of encoding them
// apart, in every encoding.
func TestEncodeFileMatchesReference(t *testing.T) {
	for _, d := range []*checkpoint.File{testDelta(1), testDelta(2), denseDelta(1)} {
		for _, s := range allEncodings {
			e, _ := Parse(s)
			got, err := encodeBytes(d, e)
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			if want := reference(t, d, e); !bytes.Equal(got, want) {
				t.Fatalf("%s: %d bytes differ from the reference's %d", s, len(got), len(want))
			}
		}
	}
}

// The file is the only large allocation: the int8 values are not built
// apart first (which allocated 2.0x the file's size here).
func TestEncodeFileAllocatesTheFileOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	v := make([]float32, 1<<20)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	d := &checkpoint.File{Tensors: []checkpoint.Tensor{checkpoint.SharedF32("body.w", []int{1 << 10, 1 << 10}, v)}}
	e, _ := Parse("rows+int8")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b, err := encodeBytes(d, e)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; float64(got) > 1.05*float64(len(b)) {
		t.Errorf("encoding a %d-byte file allocated %d bytes (%.2fx)", len(b), got, float64(got)/float64(len(b)))
	}
}

func TestEncodeFileRejects(t *testing.T) {
	f16 := checkpoint.Tensor{Name: "body.h", DType: checkpoint.F16, Shape: []int{1}, Data: []byte{0, 0}}
	short := checkpoint.Tensor{Name: "head.w", DType: checkpoint.F32, Shape: []int{2}, Data: []byte{0, 0, 0, 0}}
	dup := checkpoint.NewF32("body.w", []int{2, 1}, []float32{0, 1})
	clash := checkpoint.NewF32("body.w#rows", []int{1}, []float32{1})
	for _, c := range []struct {
		ts   []checkpoint.Tensor
		want string
	}{
		{[]checkpoint.Tensor{f16}, "dtype F16; encode float32 deltas"},
		{[]checkpoint.Tensor{short}, "needs 8 bytes, has 4"},
		{[]checkpoint.Tensor{dup, dup}, `duplicate tensor "body.w"`},
		{[]checkpoint.Tensor{dup, clash}, `duplicate tensor "body.w#rows"`},
	} {
		e, _ := Parse("rows+int8")
		if _, err := encodeBytes(&checkpoint.File{Tensors: c.ts}, e); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want %q", err, c.want)
		}
	}
}
