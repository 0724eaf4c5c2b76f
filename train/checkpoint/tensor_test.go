package checkpoint

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

func u16s(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

func f64s(v ...float64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

func TestF16Known(t *testing.T) {
	cases := []struct {
		bits uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0400, 1.0 / 16384}, {0x0001, 1.0 / (1 << 24)},
		{0x03ff, 1023.0 / (1 << 24)}, {0x3555, 0.333251953125}, {0x0000, 0},
	}
	for _, c := range cases {
		got, err := Tensor{DType: F16, Shape: []int{1}, Data: u16s(c.bits)}.F32()
		if err != nil || got[0] != c.want {
			t.Errorf("F16 %#04x = %v (%v), want %v", c.bits, got, err, c.want)
		}
	}
	neg, _ := Tensor{DType: F16, Shape: []int{1}, Data: u16s(0x8000)}.F32()
	if !math.Signbit(float64(neg[0])) || neg[0] != 0 {
		t.Errorf("F16 0x8000 = %v, want -0", neg[0])
	}
}

// halfRef decodes binary16 from its definition, in float64.
func halfRef(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10)&0x1f, float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac/1024, -14)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

// TestF16Exhaustive checks all 65,536 half values against the definition.
func TestF16Exhaustive(t *testing.T) {
	all := make([]uint16, 1<<16)
	for i := range all {
		all[i] = uint16(i)
	}
	got, err := Tensor{DType: F16, Shape: []int{len(all)}, Data: u16s(all...)}.F32()
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		want := halfRef(uint16(i))
		if math.IsNaN(want) {
			if !math.IsNaN(float64(g)) {
				t.Fatalf("F16 %#04x = %v, want NaN", i, g)
			}
			continue
		}
		if float64(g) != want || math.Signbit(want) != math.Signbit(float64(g)) {
			t.Fatalf("F16 %#04x = %v, want %v", i, g, want)
		}
	}
}

func TestBF16AndF64(t *testing.T) {
	bf, err := Tensor{DType: BF16, Shape: []int{4}, Data: u16s(0x3f80, 0xc0a0, 0x7f80, 0x0001)}.F32()
	if err != nil {
		t.Fatal(err)
	}
	if bf[0] != 1 || bf[1] != -5 || !math.IsInf(float64(bf[2]), 1) || bf[3] != math.Float32frombits(0x00010000) {
		t.Errorf("BF16 = %v", bf)
	}
	f, err := Tensor{DType: F64, Shape: []int{3}, Data: f64s(0.1, -1e300, 2)}.F32()
	if err != nil {
		t.Fatal(err)
	}
	if f[0] != float32(0.1) || !math.IsInf(float64(f[1]), -1) || f[2] != 2 {
		t.Errorf("F64 = %v", f)
	}
}

func TestF32Errors(t *testing.T) {
	cases := []struct {
		name string
		t    Tensor
		msg  string
	}{
		{"integer", Tensor{Name: "i", DType: I32, Shape: []int{1}, Data: make([]byte, 4)}, "not a float type"},
		{"short data", Tensor{Name: "s", DType: F32, Shape: []int{3}, Data: make([]byte, 8)}, "needs 12 bytes, has 8"},
		{"short F16", Tensor{Name: "h", DType: F16, Shape: []int{2}, Data: make([]byte, 3)}, "needs 4 bytes"},
		{"negative dim", Tensor{Name: "n", DType: F32, Shape: []int{-1}}, "negative"},
	}
	for _, c := range cases {
		_, err := c.t.F32()
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: F32 gave %v, want an error containing %q", c.name, err, c.msg)
		}
		if c.name != "integer" {
			if err := c.t.CheckFinite(); err == nil {
				t.Errorf("%s: CheckFinite accepted a malformed tensor", c.name)
			}
		}
	}
}

func TestCheckFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		name string
		t    Tensor
		msg  string // "" means finite
	}{
		{"f32 ok", NewF32("a", []int{2}, []float32{1, math.MaxFloat32}), ""},
		{"f32 nan", NewF32("a", []int{3}, []float32{1, 2, nan}), "element 2 is NaN"},
		{"f32 inf", NewF32("a", []int{2}, []float32{-inf, 0}), "element 0 is -Inf"},
		{"f16 inf", Tensor{Name: "h", DType: F16, Shape: []int{2}, Data: u16s(0x3c00, 0x7c00)}, "element 1 is +Inf"},
		{"f16 nan", Tensor{Name: "h", DType: F16, Shape: []int{1}, Data: u16s(0x7e00)}, "NaN"},
		{"bf16 nan", Tensor{Name: "b", DType: BF16, Shape: []int{1}, Data: u16s(0x7fc0)}, "NaN"},
		{"f64 large is finite", Tensor{Name: "d", DType: F64, Shape: []int{1}, Data: f64s(1e300)}, ""},
		{"f64 inf", Tensor{Name: "d", DType: F64, Shape: []int{2}, Data: f64s(0, math.Inf(-1))}, "element 1 is -Inf"},
		{"f64 nan", Tensor{Name: "d", DType: F64, Shape: []int{1}, Data: f64s(math.NaN())}, "NaN"},
		{"integers pass", Tensor{Name: "i", DType: I32, Shape: []int{1}, Data: []byte{0xff, 0xff, 0x80, 0x7f}}, ""},
	}
	for _, c := range cases {
		err := c.t.CheckFinite()
		if (c.msg == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.msg)) {
			t.Errorf("%s: CheckFinite = %v, want %q", c.name, err, c.msg)
		}
	}
}

func TestF32View(t *testing.T) {
	x := NewF32("a", []int{3}, []float32{1, 2, 3})
	v, err := x.F32View()
	if err != nil {
		t.Fatal(err)
	}
	v[1] = 20
	if got, _ := x.F32(); got[1] != 20 {
		t.Errorf("write through an aligned view did not reach Data: %v", got)
	}
	buf := make([]byte, 13)
	copy(buf[1:], x.Data)
	odd := Tensor{Name: "odd", DType: F32, Shape: []int{3}, Data: buf[1:]}
	w, err := odd.F32View()
	if err != nil || w[0] != 1 || w[1] != 20 {
		t.Errorf("unaligned view = %v, %v", w, err)
	}
	h, err := Tensor{DType: F16, Shape: []int{1}, Data: u16s(0x3c00)}.F32View()
	if err != nil || h[0] != 1 {
		t.Errorf("F16 view = %v, %v", h, err)
	}
	if e, err := NewF32("e", []int{0}, nil).F32View(); err != nil || len(e) != 0 {
		t.Errorf("empty view = %v, %v", e, err)
	}
}

func TestIsHead(t *testing.T) {
	heads := []string{"head", "head.w", "classifier.weight", "classifier", "lm_head.weight", "head.a.b"}
	bodies := []string{"body.w", "headless.w", "encoder.head.w", "heads.w", "classifiers.w", "", "Head.w", "lm_head_x.w", ".head"}
	for _, n := range heads {
		if !IsHead(n) {
			t.Errorf("IsHead(%q) = false", n)
		}
	}
	for _, n := range bodies {
		if IsHead(n) {
			t.Errorf("IsHead(%q) = true", n)
		}
	}
}

func TestBodyHead(t *testing.T) {
	f := sample()
	body, head := f.Body(), f.Head()
	if len(body.Tensors)+len(head.Tensors) != len(f.Tensors) {
		t.Fatalf("body %d + head %d != %d", len(body.Tensors), len(head.Tensors), len(f.Tensors))
	}
	for _, x := range head.Tensors {
		if !IsHead(x.Name) {
			t.Errorf("head holds %q", x.Name)
		}
	}
	body.Meta["note"] = "changed"
	if f.Meta["note"] == "changed" {
		t.Error("Body shares its metadata map with the original")
	}
	if _, ok := f.Get("nope"); ok {
		t.Error("Get found a missing tensor")
	}
	f.Sort()
	if f.Tensors[0].Name != "body.empty" {
		t.Errorf("Sort put %q first", f.Tensors[0].Name)
	}
}

func TestElems(t *testing.T) {
	if n := (Tensor{Shape: nil}).Elems(); n != 1 {
		t.Errorf("scalar Elems = %d", n)
	}
	if n := (Tensor{Shape: []int{2, 0, 3}}).Elems(); n != 0 {
		t.Errorf("Elems with a zero dim = %d", n)
	}
}
