package deltaenc

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/klauspost/compress/zstd"
)

// testDelta is a small delta like a bag model's: an embedding with most
// rows untouched (+0), a dense weight, a bias, a scalar, and a head.
func testDelta(seed uint64) *checkpoint.File {
	rng := rand.New(rand.NewPCG(seed, 9))
	emb := make([]float32, 200*8)
	for r := 0; r < 200; r += 1 + rng.IntN(9) {
		for c := range 8 {
			emb[r*8+c] = float32(rng.NormFloat64() * 1e-3)
		}
	}
	dense := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 1e-2)
		}
		return v
	}
	return &checkpoint.File{Meta: map[string]string{"coldnode.delta": "1"}, Tensors: []checkpoint.Tensor{
		checkpoint.NewF32("body.embed.weight", []int{200, 8}, emb),
		checkpoint.NewF32("body.mlp.0.weight", []int{8, 5}, dense(40)),
		checkpoint.NewF32("body.mlp.0.bias", []int{5}, dense(5)),
		checkpoint.NewF32("body.scale", nil, dense(1)),
		checkpoint.NewF32("head.weight", []int{5, 3}, dense(15)),
	}}
}

var allEncodings = []string{"dense", "fp16", "bf16", "int8", "rows", "rows+fp16", "rows+bf16", "rows+int8",
	"dense+zstd", "fp16+zstd", "rows+int8+zstd", "rows+bf16+zstd"}

func openFile(t *testing.T, f *checkpoint.File) *checkpoint.Reader {
	t.Helper()
	b, err := checkpoint.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	r, err := checkpoint.OpenBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseString(t *testing.T) {
	for _, s := range allEncodings {
		e, err := Parse(s)
		if err != nil || e.String() != s {
			t.Errorf("Parse(%q) = %v %v", s, e, err)
		}
	}
	if e, err := Parse("int8+zstd+rows"); err != nil || e != Default {
		t.Errorf("parts in any order: %v %v", e, err)
	}
	for _, bad := range []string{"", "fp8", "rows+rows", "fp16+int8", "rows+", "zstd+zstd"} {
		if _, err := Parse(bad); !errors.Is(err, ErrEncoding) {
			t.Errorf("Parse(%q) = %v, want ErrEncoding", bad, err)
		}
	}
}

// Decoding an encoded delta gives the original within the value type's
// rounding: exactly for fp32 (with or without rows), half an ulp for fp16
// and bf16, half a step for int8; unstored rows are +0.
func TestRoundTrip(t *testing.T) {
	d := testDelta(1)
	layout := openFile(t, d)
	want := map[string][]float32{}
	for _, tn := range d.Body().Tensors {
		want[tn.Name], _ = tn.F32()
	}
	for _, s := range allEncodings {
		e, _ := Parse(s)
		b, err := Encode(d, e)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if Compressed(b) != e.Zstd {
			t.Fatalf("%s: compressed %v", s, Compressed(b))
		}
		r, err := Open(b, Limit(layout))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		got, err := DecodeFile(r, layout)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		for _, tn := range got.Tensors {
			v, _ := tn.F32()
			checkClose(t, s, tn.Name, v, want[tn.Name], e.Values)
		}
	}
}

func checkClose(t *testing.T, enc, name string, got, want []float32, vt Values) {
	t.Helper()
	tol := map[Values]float64{FP32: 0, FP16: 1.0 / 2048, BF16: 1.0 / 256, Int8: 1.0 / 254}[vt]
	var maxabs float64
	for _, x := range want {
		maxabs = max(maxabs, math.Abs(float64(x)))
	}
	for i := range want {
		err := math.Abs(float64(got[i]) - float64(want[i]))
		bound := tol * math.Abs(float64(want[i]))
		if vt == Int8 {
			bound = tol * maxabs * 1.0001 // the row's step bounds it; the tensor's maxabs bounds the step
		}
		if vt == FP16 {
			bound += 3e-8 // fp16 subnormal spacing
		}
		if err > bound || want[i] == 0 && math.Float32bits(got[i]) != 0 {
			t.Fatalf("%s %s[%d]: got %v, want %v", enc, name, i, got[i], want[i])
		}
	}
}

func TestDenseIsPlainFile(t *testing.T) {
	d := testDelta(2)
	b, err := Encode(d, Dense)
	plain, _ := checkpoint.Encode(d)
	if err != nil || !bytes.Equal(b, plain) {
		t.Fatalf("dense encoding differs from checkpoint.Encode (%v)", err)
	}
}

// Under rows, only the touched embedding rows are stored, with their
// indices; the dense weight keeps all its rows and no index.
func TestRowsStoresTouchedRows(t *testing.T) {
	d := testDelta(3)
	b, err := Encode(d, Encoding{Values: Int8, Rows: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	emb, _ := d.Get("body.embed.weight")
	touched := len(nonzeroRows(mustF32(emb), 200, 8))
	idx, ok := f.Get("body.embed.weight" + RowsSuffix)
	if !ok || idx.Shape[0] != touched || touched >= 200 {
		t.Fatalf("index %v, want %d rows stored", idx.Shape, touched)
	}
	if _, ok := f.Get("body.mlp.0.weight" + RowsSuffix); ok {
		t.Fatal("a dense tensor got a row index")
	}
	if f.Meta[MetaKey] != "rows+int8" || f.Meta["coldnode.delta"] != "1" {
		t.Fatalf("metadata %v", f.Meta)
	}
	if len(b) > 4*len(mustEncode(t, d))/10 {
		t.Fatalf("rows+int8 is %d bytes, dense %d", len(b), len(mustEncode(t, d)))
	}
}

func mustF32(t checkpoint.Tensor) []float32 { v, _ := t.F32(); return v }

func mustEncode(t *testing.T, f *checkpoint.File) []byte {
	b, err := checkpoint.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodeRejects(t *testing.T) {
	nan := &checkpoint.File{Tensors: []checkpoint.Tensor{checkpoint.NewF32("body.w", []int{2}, []float32{1, float32(math.NaN())})}}
	big := &checkpoint.File{Tensors: []checkpoint.Tensor{checkpoint.NewF32("body.w", []int{1}, []float32{1e6})}}
	for _, c := range []struct {
		f    *checkpoint.File
		enc  string
		want string
	}{{nan, "int8", `"body.w": element 1 is NaN`}, {big, "fp16", "overflows fp16"}} {
		e, _ := Parse(c.enc)
		if _, err := Encode(c.f, e); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.enc, err, c.want)
		}
	}
}

// A zstd frame inflating past the layout's limit is refused at the limit,
// and a corrupt frame is an error, not a panic.
func TestUnwrapBomb(t *testing.T) {
	enc, _ := zstd.NewWriter(nil)
	bomb := enc.EncodeAll(make([]byte, 64<<20), nil)
	enc.Close()
	if len(bomb) > 64<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	if _, err := Unwrap(bomb, 2<<20); !errors.Is(err, ErrEncoding) || !strings.Contains(err.Error(), "capped") {
		t.Fatalf("bomb: %v", err)
	}
	bad := append(append([]byte{}, zstdMagic...), 1, 2, 3, 4, 5, 6, 7, 8)
	if _, err := Unwrap(bad, 2<<20); !errors.Is(err, ErrEncoding) {
		t.Fatalf("corrupt frame: %v", err)
	}
	if _, err := Unwrap(make([]byte, 100), 50); !errors.Is(err, ErrEncoding) {
		t.Fatalf("oversized plain file: %v", err)
	}
}
