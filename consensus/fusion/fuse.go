package fusion

import (
	"fmt"
	"io"
	"runtime"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// Stats describes a finished fusion.
type Stats struct {
	// IDs are the inputs in the order they were combined (ascending).
	IDs []string
	// Weights are the normalised example weights, Weighted only.
	Weights []float64
	// Norms are each delta's body L2 norm and Scales the factor clipping
	// applied (1 = untouched); both only when the rule clips.
	Norms  []float64
	Scales []float32
	// Tensors and Elems count the body tensors and values written.
	Tensors int
	Elems   int64
	// Bytes is the size of the fused file written to w.
	Bytes int64
}

// Fuse writes base + combine(deltas) to w as a canonical safetensors file:
// the base's body tensors, updated, with the base's metadata; head tensors
// of the base and of the deltas are left out. The bytes equal
// checkpoint.Encode of the same tensors, so every peer fusing the same
// inputs with the same rule writes the same bytes, in any input order, on
// any processor.
//
// Fuse streams: it holds one tensor of the base and of each delta at a time
// (plus one more pass over the deltas first when the rule clips). On error
// w may hold a partial file, which the caller must discard; an error caused
// by one delta is a *DeltaError naming it.
func Fuse(w io.Writer, base *checkpoint.Reader, inputs []Input, rule Rule) (Stats, error) {
	return fuse(w, base, inputs, rule, runtime.GOMAXPROCS(0))
}

func fuse(w io.Writer, base *checkpoint.Reader, inputs []Input, rule Rule, workers int) (Stats, error) {
	p, err := newPlan(base, inputs, rule)
	if err != nil {
		return Stats{}, err
	}
	f := &fuser{plan: p, rule: rule, workers: workers}
	f.stats.IDs = make([]string, len(p.inputs))
	for i, in := range p.inputs {
		f.stats.IDs[i] = in.ID
	}
	if err := f.setCoef(); err != nil {
		return f.stats, err
	}
	err = f.write(w)
	return f.stats, err
}

// fuser carries one Fuse call's state; used by one goroutine.
type fuser struct {
	*plan
	rule    Rule
	workers int
	coef    []float32
	net     [][2]int
	out     []float32
	stats   Stats
}

// setCoef computes each delta's multiplier: its clip scale, times its
// weight for Weighted; nil when all are 1 and the rule is not Weighted.
func (f *fuser) setCoef() error {
	n := len(f.inputs)
	scales := make([]float64, n)
	for i := range scales {
		scales[i] = 1
	}
	if f.rule.Clip > 0 {
		if err := f.clip(scales); err != nil {
			return err
		}
	}
	f.stats.Weights = f.weights
	if f.rule.Kind != Weighted && allOne(scales) {
		// float32(1*d) == d: skipping the multiply changes no bit.
		return nil
	}
	f.coef = make([]float32, n)
	for i, s := range scales {
		if f.rule.Kind == Weighted {
			s *= f.weights[i]
		}
		f.coef[i] = float32(s)
	}
	return nil
}

func allOne(v []float64) bool {
	for _, x := range v {
		if x != 1 {
			return false
		}
	}
	return true
}

// write streams the header and then each fused body tensor, in name order.
func (f *fuser) write(w io.Writer) error {
	f.out = make([]float32, f.maxElem)
	header, err := f.header(float32Bytes(f.out))
	if err != nil {
		return err
	}
	if err := f.put(w, header); err != nil {
		return err
	}
	for _, name := range f.names {
		out, err := f.tensor(name)
		if err != nil {
			return err
		}
		if err := f.put(w, float32Bytes(out)); err != nil {
			return err
		}
		f.stats.Tensors++
		f.stats.Elems += int64(len(out))
	}
	return nil
}

func (f *fuser) put(w io.Writer, b []byte) error {
	n, err := w.Write(b)
	f.stats.Bytes += int64(n)
	if err != nil {
		return fmt.Errorf("write fused checkpoint: %w", err)
	}
	return nil
}

// tensor reads one body tensor of the base and of every delta and fuses it
// into f.out.
func (f *fuser) tensor(name string) ([]float32, error) {
	bv, err := readF32(f.base, name)
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	ds := make([][]float32, len(f.inputs))
	for i, in := range f.inputs {
		if ds[i], err = readF32(in.Delta, name); err != nil {
			return nil, &DeltaError{ID: in.ID, Tensor: name, Err: err}
		}
	}
	if f.net == nil {
		f.net = network(len(ds))
	}
	j := job{rule: f.rule, out: f.out[:len(bv)], base: bv, ds: ds, coef: f.coef, net: f.net}
	if j.run(f.workers) {
		return nil, f.diagnose(name, j)
	}
	return j.out, nil
}

func readF32(r *checkpoint.Reader, name string) ([]float32, error) {
	if _, shape, ok := r.Info(name); ok && elems(shape) == 0 {
		// Not read: a zero-length ReadAt at the end of a file reports EOF.
		return []float32{}, nil
	}
	t, err := r.Tensor(name)
	if err != nil {
		return nil, err
	}
	return t.F32View()
}

// diagnose names the first non-finite input behind a non-finite result,
// or reports an overflow when every input was finite.
func (f *fuser) diagnose(name string, j job) error {
	if i, v, ok := firstNonFinite(j.base); ok {
		return fmt.Errorf("%w: base tensor %q element %d is %v", ErrNonFinite, name, i, v)
	}
	for k, d := range j.ds {
		if i, v, ok := firstNonFinite(d); ok {
			return &DeltaError{ID: f.inputs[k].ID, Tensor: name,
				Err: fmt.Errorf("%w: element %d is %v", ErrNonFinite, i, v)}
		}
	}
	i, v, _ := firstNonFinite(j.out)
	return fmt.Errorf("%w: tensor %q element %d became %v", ErrOverflow, name, i, v)
}

func firstNonFinite(v []float32) (int, float32, bool) {
	for i, x := range v {
		if math32Bits(x)&expMask == expMask {
			return i, x, true
		}
	}
	return 0, 0, false
}
