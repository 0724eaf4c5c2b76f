package fusion

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// handInputs: base [1 2 3 4] plus a head; three deltas whose IDs are not in
// input order.
func handInputs(t *testing.T) (*checkpoint.Reader, []Input) {
	base := open(t, vec("body.w", []float32{1, 2, 3, 4}, "head.w", []float32{9}))
	d := func(v ...float32) *checkpoint.Reader {
		return open(t, vec("body.w", v, "head.w", []float32{100}))
	}
	return base, []Input{
		{ID: "c", Examples: 1, Delta: d(1, 1, 0, -2)},
		{ID: "a", Examples: 1, Delta: d(3, -1, 0, 2)},
		{ID: "b", Examples: 2, Delta: d(2, 3, 6, 0)},
	}
}

func TestHandComputed(t *testing.T) {
	cases := map[string][]float32{
		// sums 6 3 6 0, divided by 3
		"mean": {3, 3, 5, 4},
		// weights a .25, b .5, c .25
		"weighted": {3, 3.5, 6, 4},
		// medians 2 1 0 0
		"median": {3, 3, 3, 4},
		// floor(0.4*3) = 1 dropped at each end: the median again
		"trimmed:0.4": {3, 3, 3, 4},
		// trimmed:0.2 drops nothing from 3: the mean, summed in sorted order
		"trimmed:0.2": {3, 3, 5, 4},
		// norms sqrt6, sqrt14, 7: only b (norm 7) is scaled, by 3.5/7 = 0.5
		// to [1 1.5 3 0]; medians then 1 1 0 0
		"clip:3.5,median": {2, 3, 3, 4},
	}
	for rule, want := range cases {
		base, ins := handInputs(t)
		got := decoded(t, fuseBytes(t, base, ins, mustRule(t, rule), 1))
		if len(got) != 1 || !slices.Equal(got["body.w"], want) {
			t.Errorf("%s: got %v, want body.w = %v and no head", rule, got, want)
		}
	}
}

func TestHandComputedClipMean(t *testing.T) {
	base := open(t, vec("body.w", []float32{0, 0}))
	ins := []Input{
		{ID: "x", Delta: open(t, vec("body.w", []float32{3, 4}))},   // norm 5, scaled by 0.5
		{ID: "y", Delta: open(t, vec("body.w", []float32{0.5, 0}))}, // norm 0.5, kept
	}
	var buf bytes.Buffer
	st, err := Fuse(&buf, base, ins, mustRule(t, "clip:2.5"))
	if err != nil {
		t.Fatal(err)
	}
	if got := decoded(t, buf.Bytes())["body.w"]; !slices.Equal(got, []float32{1, 1}) {
		t.Errorf("clip:2.5 mean = %v, want [1 1]", got)
	}
	if !slices.Equal(st.Norms, []float64{5, 0.5}) || !slices.Equal(st.Scales, []float32{0.5, 1}) {
		t.Errorf("norms %v scales %v, want [5 0.5] [0.5 1]", st.Norms, st.Scales)
	}
	if !slices.Equal(st.IDs, []string{"x", "y"}) || st.Tensors != 1 || st.Elems != 2 {
		t.Errorf("stats %+v", st)
	}
}

// The fused bytes must equal checkpoint.Encode of the same tensors and the
// base's metadata: the streaming writer and the canonical encoder agree.
func TestOutputIsCanonical(t *testing.T) {
	fx := newFixture(t, 1, 3)
	for _, rule := range []string{"mean", "median"} {
		out := fuseBytes(t, fx.base, fx.ins, mustRule(t, rule), 2)
		f, err := checkpoint.Decode(out)
		if err != nil {
			t.Fatal(err)
		}
		if f.Meta["coldnode.model"] != "test" {
			t.Errorf("metadata %v, want the base's", f.Meta)
		}
		again, err := checkpoint.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, again) {
			t.Fatalf("%s: fused bytes differ from checkpoint.Encode of the same tensors", rule)
		}
		var names []string
		for _, tn := range f.Tensors {
			names = append(names, tn.Name)
		}
		want := []string{"body.a", "body.b", "body.b0", "body.big", "body.c"}
		if !slices.Equal(names, want) {
			t.Errorf("tensors %v, want %v (no head)", names, want)
		}
	}
}

// Shuffled inputs and any number of goroutines give the same bytes.
func TestOrderAndWorkersIndependent(t *testing.T) {
	fx := newFixture(t, 2, 6)
	for _, rs := range []string{"mean", "weighted", "median", "trimmed:0.2", "clip:3,mean", "clip:3,weighted", "clip:2,trimmed:0.3"} {
		rule := mustRule(t, rs)
		want := fuseBytes(t, fx.base, fx.ins, rule, 1)
		for k := range 3 {
			got := fuseBytes(t, fx.base, shuffled(fx.ins, uint64(k)), rule, 1+k*2)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: shuffle %d with %d workers changed the fused bytes", rs, k, 1+k*2)
			}
		}
	}
}

// PyTorch may lay tensors out in any order; the reader hides it and the
// result must match a canonically written delta.
func TestNonCanonicalDelta(t *testing.T) {
	base := open(t, vec("body.a", []float32{1, 1}, "body.b", []float32{2}))
	canon := vec("body.a", []float32{0.5, -1}, "body.b", []float32{4}, "classifier.w", []float32{7})
	raw := reversedLayout(t, canon)
	r1 := fuseBytes(t, base, []Input{{ID: "x", Delta: open(t, canon)}}, DefaultRule, 1)
	r2 := fuseBytes(t, base, []Input{{ID: "x", Delta: openBytes(t, raw)}}, DefaultRule, 1)
	if !bytes.Equal(r1, r2) {
		t.Fatal("a delta with reversed tensor layout fused differently")
	}
	if got := decoded(t, r1); !slices.Equal(got["body.a"], []float32{1.5, 0}) || !slices.Equal(got["body.b"], []float32{6}) {
		t.Fatalf("got %v", got)
	}
}

// reversedLayout writes f's tensors in descending name order, with the
// header keys unsorted and the metadata last, as a foreign writer might.
func reversedLayout(t testing.TB, f *checkpoint.File) []byte {
	t.Helper()
	var header, data bytes.Buffer
	header.WriteString("{")
	ts := slices.Clone(f.Tensors)
	slices.Reverse(ts)
	for _, tn := range ts {
		off := data.Len()
		data.Write(tn.Data)
		shape, _ := json.Marshal(append([]int{}, tn.Shape...))
		fmt.Fprintf(&header, `"%s": {"data_offsets": [%d, %d], "shape": %s, "dtype": "%s"}, `,
			tn.Name, off, data.Len(), shape, tn.DType)
	}
	meta, _ := json.Marshal(f.Meta)
	fmt.Fprintf(&header, `"__metadata__": %s}`, meta)
	var out bytes.Buffer
	binary.Write(&out, binary.LittleEndian, uint64(header.Len()))
	out.Write(header.Bytes())
	out.Write(data.Bytes())
	return out.Bytes()
}

func TestCheck(t *testing.T) {
	base, ins := handInputs(t)
	if err := Check(base, ins[0]); err != nil {
		t.Fatalf("Check of a good delta: %v", err)
	}
}
