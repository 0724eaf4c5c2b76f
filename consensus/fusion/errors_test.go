package fusion

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
)

func TestErrors(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	good := func() *checkpoint.Reader { return open(t, vec("body.a", []float32{1, 2}, "body.b", []float32{3})) }
	base := good()
	f16 := vec("body.a", []float32{1, 2}, "body.b", []float32{3})
	f16.Tensors[1] = checkpoint.Tensor{Name: "body.b", DType: checkpoint.F16, Shape: []int{1}, Data: []byte{0, 0x3c}}
	cases := []struct {
		name   string
		base   *checkpoint.Reader
		ins    []Input
		rule   string
		is     error
		delta  string // DeltaError.ID expected, "" for none
		substr string
	}{
		{"nan", base, []Input{{ID: "ok", Delta: good()}, {ID: "bad", Delta: open(t, vec("body.a", []float32{1, nan}, "body.b", []float32{3}))}},
			"mean", ErrNonFinite, "bad", `tensor "body.a": fusion: non-finite value: element 1 is NaN`},
		{"inf median", base, []Input{{ID: "a", Delta: good()}, {ID: "b", Delta: good()}, {ID: "c", Delta: open(t, vec("body.a", []float32{1, 2}, "body.b", []float32{inf}))}},
			"median", ErrNonFinite, "c", `"body.b"`},
		{"nan clip", base, []Input{{ID: "z", Delta: open(t, vec("body.a", []float32{nan, 2}, "body.b", []float32{3}))}},
			"clip:1,mean", ErrNonFinite, "z", "element 0"},
		{"inf base", open(t, vec("body.a", []float32{1, inf}, "body.b", []float32{3})), []Input{{ID: "a", Examples: 5, Delta: good()}},
			"weighted", ErrNonFinite, "", `base tensor "body.a" element 1`},
		{"overflow", open(t, vec("body.a", []float32{3e38, 0}, "body.b", []float32{3})), []Input{{ID: "a", Examples: 1, Delta: open(t, vec("body.a", []float32{3e38, 0}, "body.b", []float32{0}))}},
			"weighted", ErrOverflow, "", `tensor "body.a" element 0 became +Inf`},
		{"range", base, []Input{{ID: "ok", Delta: good()}, {ID: "big", Delta: open(t, vec("body.a", []float32{1, -1500}, "body.b", []float32{3}))}},
			"mean", ErrRange, "big", `tensor "body.a": fusion: delta value out of range: element 1 is -1500`},
		{"range clipped", base, []Input{{ID: "big", Delta: open(t, vec("body.a", []float32{1, -1500}, "body.b", []float32{3}))}},
			"clip:2000,mean", ErrRange, "big", "element 1 is -1500"},
		{"missing", base, []Input{{ID: "m", Delta: open(t, vec("body.a", []float32{1, 2}, "head.x", []float32{1}))}},
			"mean", ErrMismatch, "m", `missing body tensors "body.b"`},
		{"extra", base, []Input{{ID: "e", Delta: open(t, vec("body.a", []float32{1, 2}, "body.b", []float32{3}, "body.z", []float32{1}))}},
			"mean", ErrMismatch, "e", `not in the base "body.z"`},
		{"shape", base, []Input{{ID: "s", Delta: open(t, vec("body.a", []float32{1, 2, 3}, "body.b", []float32{3}))}},
			"mean", ErrMismatch, "s", "shape [3], base has [2]"},
		{"f16", base, []Input{{ID: "h", Delta: open(t, f16)}},
			"mean", ErrMismatch, "h", "dtype F16, base has F32"},
		{"f16 base", open(t, f16), []Input{{ID: "h", Delta: good()}},
			"mean", ErrMismatch, "", `base body tensor "body.b" is F16`},
		{"no inputs", base, nil, "mean", ErrInput, "", "no deltas"},
		{"empty id", base, []Input{{Delta: good()}}, "mean", ErrInput, "", "empty ID"},
		{"nil reader", base, []Input{{ID: "n"}}, "mean", ErrInput, "n", "no reader"},
		{"no examples", base, []Input{{ID: "w", Delta: good()}}, "weighted", ErrInput, "w", "coldnode.examples"},
		{"negative examples", base, []Input{{ID: "w", Examples: -3, Delta: good()}}, "weighted", ErrInput, "w", "-3 must be positive"},
		{"bad metadata", base, []Input{{ID: "w", Delta: open(t, &checkpoint.File{Meta: map[string]string{ExamplesKey: "many"}, Tensors: vec("body.a", []float32{1, 2}, "body.b", []float32{3}).Tensors})}},
			"weighted", ErrInput, "w", `"many" is not an integer`},
		{"head-only base", open(t, vec("head.a", []float32{1})), []Input{{ID: "a", Delta: good()}}, "mean", ErrInput, "", "no body tensors"},
	}
	for _, c := range cases {
		_, err := Fuse(io.Discard, c.base, c.ins, mustRule(t, c.rule))
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.substr) {
			t.Errorf("%s: got %v, want %v containing %q", c.name, err, c.is, c.substr)
			continue
		}
		var de *DeltaError
		if got := errors.As(err, &de); got != (c.delta != "") || (got && de.ID != c.delta) {
			t.Errorf("%s: DeltaError %+v, want ID %q", c.name, de, c.delta)
		}
		if c.rule == "mean" && c.is != ErrOverflow && len(c.ins) == 1 && c.ins[0].Delta != nil && c.ins[0].ID != "" {
			if cerr := Check(c.base, c.ins[0]); !errors.Is(cerr, c.is) {
				t.Errorf("%s: Check gave %v, want %v", c.name, cerr, c.is)
			}
		}
	}
}

// A metadata example count is used when Input.Examples is zero.
func TestExamplesFromMetadata(t *testing.T) {
	base := open(t, vec("body.a", []float32{0}))
	mk := func(n string, v float32) *checkpoint.Reader {
		f := vec("body.a", []float32{v})
		f.Meta = map[string]string{ExamplesKey: n}
		return open(t, f)
	}
	var buf bytes.Buffer
	st, err := Fuse(&buf, base, []Input{{ID: "a", Delta: mk("3", 4)}, {ID: "b", Delta: mk("1", 8)}}, mustRule(t, "weighted"))
	if err != nil {
		t.Fatal(err)
	}
	if got := decoded(t, buf.Bytes())["body.a"][0]; got != 5 {
		t.Errorf("weighted 3:1 of 4 and 8 = %v, want 5", got)
	}
	if st.Weights[0] != 0.75 || st.Weights[1] != 0.25 {
		t.Errorf("weights %v", st.Weights)
	}
}

// A failing writer's error comes back wrapped.
func TestWriteError(t *testing.T) {
	base, ins := handInputs(t)
	boom := errors.New("disk full")
	_, err := Fuse(failWriter{boom}, base, ins, DefaultRule)
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the writer's error", err)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }
