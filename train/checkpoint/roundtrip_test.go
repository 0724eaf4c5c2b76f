package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// sample is a file with every shape of tensor the format allows: F32 of
// several ranks, F16, I64, a scalar, a zero-element tensor, heads and body.
func sample() *File {
	i64 := make([]byte, 24)
	for i := range 3 {
		binary.LittleEndian.PutUint64(i64[8*i:], uint64(i*7))
	}
	return &File{
		Meta: map[string]string{"coldnode.round": "3", "note": "<&> \u00e9"},
		Tensors: []Tensor{
			NewF32("body.w", []int{2, 3}, []float32{1, -2, 3.5, 0, 1e-8, -0}),
			NewF32("head.b", []int{2}, []float32{0.25, -0.5}),
			{Name: "body.half", DType: F16, Shape: []int{2}, Data: []byte{0x00, 0x3c, 0x00, 0xc0}},
			{Name: "body.ids", DType: I64, Shape: []int{3}, Data: i64},
			NewF32("body.scalar", nil, []float32{42}),
			NewF32("body.empty", []int{0, 4}, nil),
			NewF32("classifier.weight", []int{1, 1}, []float32{9}),
		},
	}
}

func mustEncode(t *testing.T, f *File) []byte {
	t.Helper()
	b, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDecode(t *testing.T, b []byte) *File {
	t.Helper()
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// equalFiles compares files as Decode returns them: tensors by name, nil
// and empty shapes alike.
func equalFiles(a, b *File) bool {
	if len(a.Meta) != len(b.Meta) || (len(a.Meta) > 0 && !reflect.DeepEqual(a.Meta, b.Meta)) {
		return false
	}
	if len(a.Tensors) != len(b.Tensors) {
		return false
	}
	sa, sb := sorted(a), sorted(b)
	for i := range sa {
		x, y := sa[i], sb[i]
		if x.Name != y.Name || x.DType != y.DType || !slices.Equal(x.Shape, y.Shape) || !bytes.Equal(x.Data, y.Data) {
			return false
		}
	}
	return true
}

func sorted(f *File) []Tensor {
	out := slices.Clone(f.Tensors)
	slices.SortFunc(out, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func TestRoundTrip(t *testing.T) {
	f := sample()
	got := mustDecode(t, mustEncode(t, f))
	if !equalFiles(f, got) {
		t.Fatalf("decoded %+v\nwant %+v", got, f)
	}
	names := make([]string, len(got.Tensors))
	for i, tn := range got.Tensors {
		names[i] = tn.Name
	}
	if !slices.IsSorted(names) {
		t.Errorf("Decode returned tensors out of order: %q", names)
	}
	if s, _ := got.Get("body.scalar"); s.Shape == nil || len(s.Shape) != 0 {
		t.Errorf("scalar shape %#v, want empty non-nil", s.Shape)
	}
}

func TestReencodeIdentical(t *testing.T) {
	b := mustEncode(t, sample())
	again := mustEncode(t, mustDecode(t, b))
	if !bytes.Equal(b, again) {
		t.Fatal("Encode(Decode(b)) differs from b")
	}
}

func TestOrderFree(t *testing.T) {
	want := mustEncode(t, sample())
	rng := rand.New(rand.NewPCG(7, 7))
	for range 20 {
		f := sample()
		rng.Shuffle(len(f.Tensors), func(i, j int) { f.Tensors[i], f.Tensors[j] = f.Tensors[j], f.Tensors[i] })
		if !bytes.Equal(mustEncode(t, f), want) {
			t.Fatal("tensor order changed the encoding")
		}
	}
}

func TestEncodeDoesNotReorderInput(t *testing.T) {
	f := sample()
	first := f.Tensors[0].Name
	mustEncode(t, f)
	if f.Tensors[0].Name != first {
		t.Error("Encode sorted the caller's slice")
	}
}

func TestMetadata(t *testing.T) {
	f := sample()
	got := mustDecode(t, mustEncode(t, f))
	if !reflect.DeepEqual(got.Meta, f.Meta) {
		t.Errorf("metadata %v, want %v", got.Meta, f.Meta)
	}
	f.Meta = map[string]string{}
	if got := mustDecode(t, mustEncode(t, f)); got.Meta != nil {
		t.Errorf("empty metadata decoded as %v, want nil (not written)", got.Meta)
	}
}

// TestHeaderLayout pins the canonical header: sorted top-level keys, no
// insignificant white space, space padding to a multiple of 8.
func TestHeaderLayout(t *testing.T) {
	b := mustEncode(t, sample())
	n := binary.LittleEndian.Uint64(b)
	header := b[8 : 8+n]
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	body := bytes.TrimRight(header, " ")
	if len(header)-len(body) >= 8 || bytes.ContainsAny(body, "\n\t") {
		t.Errorf("header %q is not compact JSON padded with fewer than 8 spaces", header)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var keys []string
	dec.Token()
	for dec.More() {
		tok, _ := dec.Token()
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	if !slices.IsSorted(keys) || keys[0] != "__metadata__" {
		t.Errorf("top-level keys %q are not sorted", keys)
	}
}

// TestGolden pins the exact bytes of a small file: other packages derive
// content identifiers from them, so a change here is a protocol change.
func TestGolden(t *testing.T) {
	f := &File{Meta: map[string]string{"k": "v"}, Tensors: []Tensor{
		NewF32("head.b", []int{1}, []float32{-1}),
		NewF32("body.a", []int{2}, []float32{1, 0.5}),
	}}
	header := `{"__metadata__":{"k":"v"},"body.a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"head.b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`
	header += strings.Repeat(" ", (8-len(header)%8)%8)
	want := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	want = append(want, header...)
	want = append(want, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x3f, 0, 0, 0x80, 0xbf)
	if got := mustEncode(t, f); !bytes.Equal(got, want) {
		t.Errorf("encoding\n%q\nwant\n%q", got, want)
	}
}

func TestEncodeRejects(t *testing.T) {
	cases := []struct {
		name string
		t    []Tensor
		msg  string
	}{
		{"duplicate", []Tensor{NewF32("a", []int{1}, []float32{1}), NewF32("a", []int{1}, []float32{2})}, "duplicate tensor"},
		{"reserved name", []Tensor{NewF32("__metadata__", []int{1}, []float32{1})}, "reserved"},
		{"bad UTF-8 name", []Tensor{NewF32("a\xff", []int{1}, []float32{1})}, "UTF-8"},
		{"short data", []Tensor{{Name: "a", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}}, "needs 8 bytes, has 4"},
		{"negative dim", []Tensor{{Name: "a", DType: F32, Shape: []int{-1}}}, "negative"},
		{"overflowing shape", []Tensor{{Name: "a", DType: F32, Shape: []int{1 << 32, 1 << 32}}}, "exceeds"},
		{"unknown dtype", []Tensor{{Name: "a", DType: "F8", Shape: []int{1}, Data: []byte{1}}}, "unknown dtype"},
	}
	for _, c := range cases {
		_, err := Encode(&File{Tensors: c.t})
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: Encode gave %v, want an error containing %q", c.name, err, c.msg)
		}
	}
	if _, err := Encode(&File{Meta: map[string]string{"k": "\xff"}}); err == nil {
		t.Error("Encode accepted metadata that is not UTF-8")
	}
}

func TestEmptyFile(t *testing.T) {
	got := mustDecode(t, mustEncode(t, &File{}))
	if len(got.Tensors) != 0 || got.Meta != nil {
		t.Errorf("empty file decoded as %+v", got)
	}
}
