package fusion

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// open encodes f and opens it as a streaming reader.
func open(t testing.TB, f *checkpoint.File) *checkpoint.Reader {
	t.Helper()
	b, err := checkpoint.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	return openBytes(t, b)
}

// viewInputs makes openBytes use checkpoint.OpenBytes, so Fuse reads its
// inputs through in-place views instead of copies.
var viewInputs = false

func openBytes(t testing.TB, b []byte) *checkpoint.Reader {
	t.Helper()
	if viewInputs {
		r, err := checkpoint.OpenBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r, err := checkpoint.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// vec builds a file of named 1-D tensors.
func vec(kv ...any) *checkpoint.File {
	f := &checkpoint.File{}
	for i := 0; i < len(kv); i += 2 {
		v := kv[i+1].([]float32)
		f.Tensors = append(f.Tensors, checkpoint.NewF32(kv[i].(string), []int{len(v)}, v))
	}
	return f
}

// fuseBytes runs fuse with the given worker count and returns the output.
func fuseBytes(t testing.TB, base *checkpoint.Reader, ins []Input, rule Rule, workers int) []byte {
	t.Helper()
	var buf bytes.Buffer
	st, err := fuse(&buf, base, ins, rule, workers)
	if err != nil {
		t.Fatalf("fuse %s: %v", rule, err)
	}
	if st.Bytes != int64(buf.Len()) {
		t.Fatalf("Stats.Bytes %d, wrote %d", st.Bytes, buf.Len())
	}
	return buf.Bytes()
}

// decoded returns the fused file's tensors as float32 by name.
func decoded(t testing.TB, b []byte) map[string][]float32 {
	t.Helper()
	f, err := checkpoint.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, tn := range f.Tensors {
		v, err := tn.F32()
		if err != nil {
			t.Fatal(err)
		}
		out[tn.Name] = v
	}
	return out
}

// shapes is a model layout exercising scalars, empty tensors, a tensor big
// enough to be split across goroutines, and a head.
var shapes = []struct {
	name  string
	shape []int
}{
	{"body.a", []int{3, 5}},
	{"body.b", []int{7}},
	{"body.c", []int{}},
	{"body.b0", []int{0, 4}}, // empty; not last: checkpoint.Decode fails on an empty last tensor
	{"body.big", []int{2*minSplit + 4099}},
	{"head.w", []int{2, 3}},
}

// model returns random tensors with the layout of shapes; scale sets the
// spread of values.
func model(rng *rand.Rand, scale float32, meta map[string]string) *checkpoint.File {
	f := &checkpoint.File{Meta: meta}
	for _, s := range shapes {
		v := make([]float32, elems(s.shape))
		for i := range v {
			v[i] = scale * float32(rng.NormFloat64())
		}
		f.Tensors = append(f.Tensors, checkpoint.NewF32(s.name, s.shape, v))
	}
	return f
}

type fixture struct {
	base   *checkpoint.Reader
	baseF  *checkpoint.File
	ins    []Input
	deltas []*checkpoint.File // same order as ins
}

func newFixture(t testing.TB, seed uint64, n int) fixture {
	rng := rand.New(rand.NewPCG(seed, 7))
	fx := fixture{baseF: model(rng, 1, map[string]string{"coldnode.model": "test"})}
	fx.base = open(t, fx.baseF)
	for i := range n {
		d := model(rng, 0.01*float32(1+i%3), nil)
		fx.deltas = append(fx.deltas, d)
		id := string(rune('a'+(i*7)%26)) + string(rune('a'+i))
		fx.ins = append(fx.ins, Input{ID: id, Examples: int64(10 + 13*i), Delta: open(t, d)})
	}
	return fx
}

func shuffled(ins []Input, seed uint64) []Input {
	out := slices.Clone(ins)
	rand.New(rand.NewPCG(seed, 1)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func mustRule(t testing.TB, s string) Rule {
	t.Helper()
	r, err := ParseRule(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// readF32 reads one whole F32 tensor (tests only; Fuse streams spans).
func readF32(r *checkpoint.Reader, name string) ([]float32, error) {
	if _, shape, ok := r.Info(name); ok && elems(shape) == 0 {
		return []float32{}, nil
	}
	t, err := r.Tensor(name)
	if err != nil {
		return nil, err
	}
	return t.F32View()
}
