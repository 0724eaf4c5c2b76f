package node

import (
	"bytes"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
	"github.com/ipfs/go-cid"
	"github.com/klauspost/compress/zstd"
)

// The node's check of an encoded delta (issue 8): checkEncodedDelta judges
// the float32 delta it decodes to (finite values, norm bound) a span at a
// time, and matchBase checks its encoded structure with fusion.CheckRule.

func encodedRef(t *testing.T) *checkpoint.Reader {
	t.Helper()
	ref, err := checkpoint.OpenBytes(encodeDelta(t, checkpoint.NewF32("body.emb", []int{4, 2}, make([]float32, 8)),
		checkpoint.NewF32("body.b", []int{2}, []float32{0, 0}), checkpoint.NewF32("head.w", []int{2}, []float32{0, 0})))
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func goodDelta() *checkpoint.File {
	return &checkpoint.File{Tensors: []checkpoint.Tensor{
		checkpoint.NewF32("body.emb", []int{4, 2}, []float32{0, 0, 3, 0, 0, 0, 0, -4}),
		checkpoint.NewF32("body.b", []int{2}, []float32{0, 0}),
	}}
}

// checkEncoded is the node's check of delta bytes b against ref, as
// startCheck runs it (checkSent without the store).
func checkEncoded(ref *checkpoint.Reader, b []byte, bound float64) error {
	inner, err := checkEncodedDelta(ref, b, bound)
	if err != nil {
		return err
	}
	return matchBase(ref, cid.Undef, inner)
}

func TestCheckEncodedDeltas(t *testing.T) {
	ref := encodedRef(t)
	for _, s := range []string{"fp16", "bf16", "int8", "rows", "rows+fp16+zstd", "rows+int8+zstd", "dense+zstd"} {
		e, _ := deltaenc.Parse(s)
		b, err := deltaenc.Encode(goodDelta(), e)
		if err != nil {
			t.Fatal(err)
		}
		if !deltaenc.Compressed(b) && !encodedHeader(b) {
			t.Fatalf("%s: not recognised as encoded", s)
		}
		if err := checkEncoded(ref, b, 5.01); err != nil {
			t.Errorf("%s: a good delta of norm 5: %v", s, err)
		}
		if err := checkEncoded(ref, b, 4.9); err == nil || !strings.Contains(err.Error(), "exceeds") {
			t.Errorf("%s: norm 5 over bound 4.9: %v", s, err)
		}
	}
}

func TestCheckEncodedRejects(t *testing.T) {
	ref := encodedRef(t)
	nan := &checkpoint.File{Meta: map[string]string{deltaenc.MetaKey: "fp16"}, Tensors: []checkpoint.Tensor{
		{Name: "body.emb", DType: checkpoint.F16, Shape: []int{4, 2}, Data: append(make([]byte, 14), 0x00, 0x7e)},
		{Name: "body.b", DType: checkpoint.F16, Shape: []int{2}, Data: make([]byte, 4)},
	}}
	nanBytes, err := checkpoint.Encode(nan)
	if err != nil {
		t.Fatal(err)
	}
	rowsEnc, _ := deltaenc.Encode(goodDelta(), deltaenc.Encoding{Rows: true})
	badIndex := bytes.Replace(rowsEnc, []byte{1, 0, 0, 0, 3, 0, 0, 0}, []byte{3, 0, 0, 0, 1, 0, 0, 0}, 1)
	if bytes.Equal(badIndex, rowsEnc) {
		t.Fatal("index bytes not found")
	}
	enc, _ := zstd.NewWriter(nil)
	bomb := enc.EncodeAll(make([]byte, 16<<20), nil)
	enc.Close()
	for name, c := range map[string]struct {
		b    []byte
		want string
	}{
		"nan in fp16":   {nanBytes, "NaN"},
		"rows unsorted": {badIndex, "strictly increasing"},
		"zstd bomb":     {bomb, "capped"},
		"not canonical": {append(append([]byte{}, rowsEnc...), ' '), ""},
	} {
		if err := checkEncoded(ref, c.b, 0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}
}

// The genesis layout the node keeps (the header alone) judges deltas as
// the whole genesis file does.
func TestGenesisLayoutJudgesLikeTheWeights(t *testing.T) {
	full := encodeDelta(t, checkpoint.NewF32("body.emb", []int{4, 2}, []float32{1, 2, 3, 4, 5, 6, 7, 8}),
		checkpoint.NewF32("body.b", []int{2}, []float32{9, 10}), checkpoint.NewF32("head.w", []int{2}, []float32{0, 0}))
	ref, _ := checkpoint.OpenBytes(full)
	layout, err := layoutOf(full)
	if err != nil {
		t.Fatal(err)
	}
	if deltaenc.Limit(layout) != deltaenc.Limit(ref) || strings.Join(layout.Names(), ",") != strings.Join(ref.Names(), ",") {
		t.Fatalf("layout %v (limit %d), weights %v (limit %d)", layout.Names(), deltaenc.Limit(layout), ref.Names(), deltaenc.Limit(ref))
	}
	e, _ := deltaenc.Parse("rows+int8+zstd")
	good, _ := deltaenc.Encode(goodDelta(), e)
	for _, bound := range []float64{5.01, 4.9} {
		a, b := checkEncoded(layout, good, bound), checkEncoded(ref, good, bound)
		if (a == nil) != (b == nil) {
			t.Errorf("bound %v: layout says %v, weights say %v", bound, a, b)
		}
	}
	if _, err := layoutOf(full[:len(full)-4]); err == nil {
		t.Error("a truncated genesis file opened as a layout")
	}
}
