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
// Fuse streams: it holds one span (256 Ki values) of the base, of each
// delta and of the output at a time, in buffers reused for the whole call
// (plus one more pass over the deltas first when the rule clips). On error
// w may hold a partial file, which the caller must discard; an error caused
// by one delta is a *DeltaError naming it.
func Fuse(w io.Writer, base *checkpoint.Reader, inputs []Input, rule Rule) (Stats, error) {
	return fuse(w, base, inputs, rule, runtime.GOMAXPROCS(0))
}

func fuse(w io.Writer, base *checkpoint.Reader, inputs []Input, rule Rule, workers int) (Stats, error) {
	return fuseSpans(w, base, inputs, rule, workers, spanElems)
}

// fuseSpans is fuse holding span coordinates per input at a time; span
// must be a positive multiple of 4 (the norm's lanes).
func fuseSpans(w io.Writer, base *checkpoint.Reader, inputs []Input, rule Rule, workers, span int) (Stats, error) {
	p, err := newPlan(base, inputs, rule)
	if err != nil {
		return Stats{}, err
	}
	f := &fuser{plan: p, rule: rule, workers: workers, spanSize: span}
	f.stats.IDs = make([]string, len(p.inputs))
	for i, in := range p.inputs {
		f.stats.IDs[i] = in.ID
	}
	f.buf = newBuffers(len(f.inputs), min(f.maxElem, f.spanSize), workers)
	f.net = network(len(f.inputs))
	if err := f.setCoef(); err != nil {
		return f.stats, err
	}
	err = f.write(w)
	return f.stats, err
}

// fuser carries one Fuse call's state; used by one goroutine.
type fuser struct {
	*plan
	rule     Rule
	workers  int
	coef     []float32
	net      [][2]int
	spanSize int      // coordinates per input held at a time
	buf      *buffers // reused for every span of every tensor
	stats    Stats
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

// write streams the header and then each fused body tensor, in name
// order, a span at a time.
func (f *fuser) write(w io.Writer) error {
	header, err := f.header()
	if err != nil {
		return err
	}
	if err := f.put(w, header); err != nil {
		return err
	}
	for _, name := range f.names {
		if err := f.tensor(w, name); err != nil {
			return err
		}
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

// tensor fuses one body tensor span by span and writes each span.
func (f *fuser) tensor(w io.Writer, name string) error {
	_, shape, _ := f.base.Info(name)
	n := elems(shape)
	for lo := 0; lo < n; lo += f.spanSize {
		hi := min(lo+f.spanSize, n)
		bad, err := f.span(name, lo, hi)
		if err != nil {
			return err
		}
		if bad {
			return f.diagnose(name, n, lo, f.buf.out[:hi-lo])
		}
		if err := f.put(w, float32Bytes(f.buf.out[:hi-lo])); err != nil {
			return err
		}
	}
	f.stats.Tensors++
	f.stats.Elems += int64(n)
	return nil
}

// diagnose names the first non-finite input behind a non-finite result,
// or reports an overflow when every input was finite. out holds the span
// at lo where the result first went non-finite (earlier spans were all
// finite). The inputs are scanned whole, base first, so the error does
// not depend on the span size.
func (f *fuser) diagnose(name string, n, lo int, out []float32) error {
	buf := f.buf.base
	i, v, bad, err := scan(f.base, name, n, buf)
	if err != nil {
		return fmt.Errorf("base: %w", err)
	}
	if bad {
		return fmt.Errorf("%w: base tensor %q element %d is %v", ErrNonFinite, name, i, v)
	}
	for k, in := range f.inputs {
		if err := f.scanInput(k, name, n, buf); err != nil {
			return &DeltaError{ID: in.ID, Tensor: name, Err: err}
		}
	}
	i, v, _ = firstNonFinite(out)
	return fmt.Errorf("%w: tensor %q element %d became %v", ErrOverflow, name, lo+i, v)
}

// scanInput returns an error naming input k's first value in tensor name
// that the rule cannot combine: non-finite, or (mean rules) out of range.
func (f *fuser) scanInput(k int, name string, n int, buf []float32) error {
	if !f.rule.exact() {
		i, v, bad, err := f.scanDelta(f.inputs[k].Delta, name, n, buf)
		if err == nil && bad {
			err = fmt.Errorf("%w: element %d is %v", ErrNonFinite, i, v)
		}
		return err
	}
	coef := float32(1)
	if f.coef != nil {
		coef = f.coef[k]
	}
	return f.plan.rangeScan(f.inputs[k], name, coef, buf)
}

func firstNonFinite(v []float32) (int, float32, bool) {
	for i, x := range v {
		if math32Bits(x)&expMask == expMask {
			return i, x, true
		}
	}
	return 0, 0, false
}
