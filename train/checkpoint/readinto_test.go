package checkpoint

import (
	"bytes"
	"strings"
	"testing"
)

func openEncoded(t *testing.T, f *File) *Reader {
	t.Helper()
	b, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ReadInto and ReadRangeInto give the same bytes as Tensor, whole and in
// pieces, into a reused buffer.
func TestReadIntoMatchesTensor(t *testing.T) {
	f := &File{Tensors: []Tensor{
		NewF32("a", []int{3}, []float32{1, 2, 3}),
		NewF32("b", []int{2, 5}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}),
		NewF32("empty", []int{0}, nil),
	}}
	r := openEncoded(t, f)
	buf := make([]byte, 64)
	for _, name := range r.Names() {
		want, err := r.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		size, ok := r.Size(name)
		if !ok || size != int64(len(want.Data)) {
			t.Fatalf("%s: Size = %d, %v; want %d", name, size, ok, len(want.Data))
		}
		if err := r.ReadInto(name, buf[:size]); err != nil || !bytes.Equal(buf[:size], want.Data) {
			t.Fatalf("%s: ReadInto = %x (%v), want %x", name, buf[:size], err, want.Data)
		}
		for off := int64(0); off < size; off += 8 {
			n := min(8, size-off)
			if err := r.ReadRangeInto(name, off, buf[:n]); err != nil || !bytes.Equal(buf[:n], want.Data[off:off+n]) {
				t.Fatalf("%s [%d,+%d): %x (%v)", name, off, n, buf[:n], err)
			}
		}
	}
}

func TestReadIntoErrors(t *testing.T) {
	r := openEncoded(t, &File{Tensors: []Tensor{NewF32("a", []int{3}, []float32{1, 2, 3})}})
	cases := []struct {
		what string
		err  error
		want string
	}{
		{"unknown", r.ReadInto("nope", nil), `no tensor "nope"`},
		{"short buffer", r.ReadInto("a", make([]byte, 11)), "buffer of 11 bytes, tensor has 12"},
		{"past the end", r.ReadRangeInto("a", 8, make([]byte, 5)), "bytes [8, 13) outside its 12 bytes"},
		{"negative", r.ReadRangeInto("a", -1, make([]byte, 1)), "outside"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.what, c.err, c.want)
		}
	}
}

// Header followed by the tensors' data in name order is Encode, for files
// with metadata, several dtypes, a scalar and an empty tensor.
func TestHeaderPlusDataIsEncode(t *testing.T) {
	f := &File{Meta: map[string]string{"k": "v", "round": "7"}, Tensors: []Tensor{
		NewF32("z.last", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		{Name: "a.half", DType: F16, Shape: []int{3}, Data: []byte{1, 2, 3, 4, 5, 6}},
		NewF32("m.scalar", []int{}, []float32{9}),
		NewF32("e.empty", []int{0, 4}, nil),
	}}
	want, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	layout := make([]Tensor, len(f.Tensors))
	for i, tn := range f.Tensors {
		layout[i] = Tensor{Name: tn.Name, DType: tn.DType, Shape: tn.Shape}
	}
	got, err := Header(f.Meta, layout)
	if err != nil {
		t.Fatal(err)
	}
	f.Sort()
	for _, tn := range f.Tensors {
		got = append(got, tn.Data...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Header + data:\n%q\nEncode:\n%q", got, want)
	}
	if _, err := Header(nil, []Tensor{{Name: "__metadata__", DType: F32}}); err == nil {
		t.Fatal("Header accepted the reserved name")
	}
}

// A Reader from OpenBytes views tensor data in place; one from Open does not.
func TestView(t *testing.T) {
	f := &File{Tensors: []Tensor{NewF32("a", []int{3}, []float32{1, 2, 3}), NewF32("b", []int{2}, []float32{4, 5})}}
	b, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := r.View("a", 4, 8)
	if err != nil || !ok || !bytes.Equal(v, f.Tensors[0].Data[4:12]) {
		t.Fatalf("View = %x, %v, %v", v, ok, err)
	}
	if &v[0] != &b[len(b)-20+4] {
		t.Fatal("View copied the data")
	}
	if _, _, err := r.View("b", 4, 8); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Fatalf("out-of-range View: %v", err)
	}
	plain := openEncoded(t, f)
	if _, ok, err := plain.View("a", 0, 4); ok || err != nil {
		t.Fatalf("View on an Open reader: ok %v, err %v", ok, err)
	}
}
