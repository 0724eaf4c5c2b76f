package fusion

import (
	"bytes"
	"io"
	"math"
	"strings"
	"testing"
)

// The fused bytes do not depend on how many coordinates are held at a
// time: spans of 4 values up to the whole tensor, with one worker or
// three, give the bytes of the default span, for every rule (the clip
// rules' norms are summed span by span too), whether the inputs are read
// into buffers or viewed in place.
func TestSpanSizeIndependent(t *testing.T) {
	t.Run("copies", testSpanSizeIndependent)
	viewInputs = true
	defer func() { viewInputs = false }()
	t.Run("views", testSpanSizeIndependent)
}

func testSpanSizeIndependent(t *testing.T) {
	fx := newFixture(t, 3, 5)
	gbase, gins := readGoldenInputs(t)
	for _, rs := range goldenRules {
		rule := mustRule(t, rs)
		for _, in := range []struct {
			name string
			fx   fixture
		}{{"fixture", fx}, {"golden", fixture{base: gbase, ins: gins}}} {
			want := fuseBytes(t, in.fx.base, in.fx.ins, rule, 2)
			for _, span := range []int{4, 100, 2052, 2*minSplit + 8, 1 << 30} {
				for _, workers := range []int{1, 3} {
					var buf bytes.Buffer
					if _, err := fuseSpans(&buf, in.fx.base, in.fx.ins, rule, workers, span); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(buf.Bytes(), want) {
						t.Fatalf("%s %s: span %d, %d workers changed the fused bytes", in.name, rs, span, workers)
					}
				}
			}
		}
	}
}

// Errors name the same input and element whatever the span: the base is
// blamed before a delta even when the delta's bad value comes earlier, and
// an overflow reports its index in the whole tensor.
func TestSpanErrorsIndependent(t *testing.T) {
	const n = 1000
	mk := func(set map[int]float32) []float32 {
		v := make([]float32, n)
		for i, x := range set {
			v[i] = x
		}
		return v
	}
	nan := float32(math.NaN())
	cases := []struct {
		name        string
		kind        Kind
		base, delta []float32
		want        string
	}{
		{"base first", Mean, mk(map[int]float32{900: nan}), mk(map[int]float32{10: nan}), `base tensor "body.a" element 900`},
		{"delta", Mean, mk(nil), mk(map[int]float32{730: nan}), "element 730 is NaN"},
		{"range", Mean, mk(nil), mk(map[int]float32{600: 2000, 640: nan}), "element 600 is 2000"},
		{"overflow", Weighted, mk(map[int]float32{500: 3e38}), mk(map[int]float32{500: 3e38}), `tensor "body.a" element 500 became +Inf`},
	}
	for _, c := range cases {
		base := open(t, vec("body.a", c.base))
		ins := []Input{{ID: "d", Examples: 1, Delta: open(t, vec("body.a", c.delta))}}
		for _, span := range []int{4, 100, 1 << 20} {
			_, err := fuseSpans(io.Discard, base, ins, Rule{Kind: c.kind}, 1, span)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s, span %d: err = %v, want %q", c.name, span, err, c.want)
			}
		}
	}
}
