package fusion

import (
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// Sum is a mean rule's exact fixed-point sum of deltas on one body layout,
// kept between calls: a node adds each delta as soon as its check passes
// and, when the round closes, writes the mean onto the base. Because the
// sum is exact integer arithmetic, the order of Add and Remove calls does
// not matter, and WriteMean writes the same bytes as Fuse of the same
// multiset of inputs under the same rule.
//
// A Sum holds 8 bytes per body value (twice a float32 body). It is not
// safe for concurrent use.
type Sum struct {
	p    *plan // the layout's body tensors (p.base is the layout)
	rule Rule
	off  map[string]int // each body tensor's offset in acc
	acc  []int64
	held map[string][]float32 // ID -> clip scale of each copy held
	n    int
	buf  []float32
}

// NewSum returns an empty sum over layout's body tensors (any base of the
// swarm: only names and shapes are used) for rule, which must be a mean
// rule (mean or clip:C,mean).
func NewSum(layout *checkpoint.Reader, rule Rule) (*Sum, error) {
	if err := rule.Validate(); err != nil {
		return nil, err
	}
	if !rule.exact() {
		return nil, fmt.Errorf("%w: rule %s is not a mean rule; it has no running sum", ErrInput, rule)
	}
	if layout == nil {
		return nil, fmt.Errorf("%w: no layout", ErrInput)
	}
	p := &plan{base: layout}
	if err := p.setBody(); err != nil {
		return nil, err
	}
	s := &Sum{p: p, rule: rule, off: map[string]int{}, held: map[string][]float32{}}
	total := 0
	for _, name := range p.names {
		_, shape, _ := layout.Info(name)
		s.off[name] = total
		total += elems(shape)
	}
	s.acc = make([]int64, total)
	s.buf = make([]float32, min(p.maxElem, spanElems))
	return s, nil
}

// Len is the number of deltas in the sum, counting repeats.
func (s *Sum) Len() int { return s.n }

// Count is how many copies of delta id the sum holds.
func (s *Sum) Count(id string) int { return len(s.held[id]) }

// IDs lists the deltas held, ascending, an ID once per copy.
func (s *Sum) IDs() []string {
	var ids []string
	for id, copies := range s.held {
		for range copies {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Add adds one delta. It checks the delta as CheckRule does (tensors
// matching the layout, every value finite and, after its clip scale,
// below SumLimit in magnitude); on error the sum is unchanged.
func (s *Sum) Add(in Input) error { return s.AddVisit(in, nil) }

// Visit sees the values [lo, lo+len(v)) of body tensor name of a delta,
// decoded to float32 (before any clip scale), as Sum.AddVisit adds them:
// tensors in name order, each from its first value to its last.
type Visit func(name string, lo int, v []float32) error

// AddVisit is Add calling see (when not nil) with every span of the
// delta's values just before adding it, so a caller can judge the delta
// (its norm, say) in the pass that adds it instead of in a pass of its
// own. An error from see undoes what was added and is returned as is.
func (s *Sum) AddVisit(in Input, see Visit) error {
	if s.n >= MaxSumInputs {
		return fmt.Errorf("%w: a sum holds at most %d deltas", ErrInput, MaxSumInputs)
	}
	k, err := s.prepare(in, nil)
	if err != nil {
		return err
	}
	defer delete(s.p.dec, in.Delta)
	if err := s.apply(in, k, false, see); err != nil {
		return err
	}
	s.held[in.ID] = append(s.held[in.ID], k)
	s.n++
	return nil
}

// Remove takes out one copy of a delta added before, given the same bytes.
func (s *Sum) Remove(in Input) error {
	copies := s.held[in.ID]
	if len(copies) == 0 {
		return fmt.Errorf("%w: delta %s is not in the sum", ErrInput, in.ID)
	}
	k := copies[len(copies)-1]
	if _, err := s.prepare(in, &k); err != nil {
		return err
	}
	defer delete(s.p.dec, in.Delta)
	if err := s.apply(in, k, true, nil); err != nil {
		return err
	}
	if len(copies) == 1 {
		delete(s.held, in.ID)
	} else {
		s.held[in.ID] = copies[:len(copies)-1]
	}
	s.n--
	return nil
}

// prepare checks in's tensors against the layout and returns its clip
// scale (known, when given, is used instead of recomputing it).
func (s *Sum) prepare(in Input, known *float32) (float32, error) {
	if err := s.p.setInputs([]Input{in}); err != nil {
		return 0, err
	}
	s.p.inputs = nil
	if err := s.p.match(in); err != nil {
		delete(s.p.dec, in.Delta)
		return 0, err
	}
	if known != nil {
		return *known, nil
	}
	k, err := s.p.clipScale(in, s.rule, s.buf)
	if err != nil {
		delete(s.p.dec, in.Delta)
	}
	return k, err
}

// apply adds (or, neg, subtracts) k*delta to the sum, tensor by tensor in
// name order, a span at a time, showing each span to see first; on a bad
// value or an error from see it undoes what it added and returns the
// error.
func (s *Sum) apply(in Input, k float32, neg bool, see Visit) error {
	for ti := range s.p.names {
		if err := s.applyTensor(in, k, neg, see, ti); err != nil {
			return err
		}
	}
	return nil
}

// applyTensor is apply's work on tensor names[ti].
func (s *Sum) applyTensor(in Input, k float32, neg bool, see Visit, ti int) error {
	name := s.p.names[ti]
	_, shape, _ := s.p.base.Info(name)
	n, off := elems(shape), s.off[name]
	for lo := 0; lo < n; lo += len(s.buf) {
		hi := min(lo+len(s.buf), n)
		v, err := s.p.deltaSpan(in.Delta, name, lo, s.buf[:hi-lo])
		if err == nil && see != nil {
			if err := see(name, lo, v); err != nil {
				s.undo(in, k, !neg, ti, lo)
				return err
			}
		}
		if err == nil && quantizeAdd(s.acc[off+lo:off+hi], v, k, neg)&signBit == 0 {
			continue
		}
		if err == nil {
			i, x, _ := firstOutOfRange(v, k)
			err = rangeError(lo+i, x)
			hi = lo + len(v) // this span was added, bad values as zero
		} else {
			hi = lo // this span was not read
		}
		s.undo(in, k, !neg, ti, hi)
		return &DeltaError{ID: in.ID, Tensor: name, Err: err}
	}
	return nil
}

// undo re-applies with neg the tensors before names[last] and the first
// upto values of names[last]: the exact inverse of a partial apply.
func (s *Sum) undo(in Input, k float32, neg bool, last, upto int) {
	for ti, name := range s.p.names[:last+1] {
		_, shape, _ := s.p.base.Info(name)
		n, off := elems(shape), s.off[name]
		if ti == last {
			n = upto
		}
		for lo := 0; lo < n; lo += len(s.buf) {
			hi := min(lo+len(s.buf), n)
			v, err := s.p.deltaSpan(in.Delta, name, lo, s.buf[:hi-lo])
			if err != nil {
				panic(fmt.Sprintf("fusion: reread of delta %s failed after a good read: %v", in.ID, err))
			}
			quantizeAdd(s.acc[off+lo:off+hi], v, k, neg)
		}
	}
}

// WriteMean writes base + mean to w as Fuse would for the deltas held:
// the same bytes as Fuse(w, base, inputs, rule) with those inputs. base
// must have the layout's body tensors. Stats has IDs, Tensors, Elems and
// Bytes (not the clip norms).
func (s *Sum) WriteMean(w io.Writer, base *checkpoint.Reader) (Stats, error) {
	st := Stats{IDs: s.IDs()}
	if s.n == 0 {
		return st, fmt.Errorf("%w: no deltas", ErrInput)
	}
	bp, err := s.baseFor(base)
	if err != nil {
		return st, err
	}
	f := &fuser{plan: bp, rule: s.rule, stats: st}
	header, err := bp.header()
	if err != nil {
		return f.stats, err
	}
	if err := f.put(w, header); err != nil {
		return f.stats, err
	}
	out, bbuf := make([]float32, len(s.buf)), make([]float32, len(s.buf))
	for _, name := range bp.names {
		if err := s.writeTensor(w, f, name, out, bbuf); err != nil {
			return f.stats, err
		}
	}
	return f.stats, nil
}

// baseFor checks that base has the sum's body layout.
func (s *Sum) baseFor(base *checkpoint.Reader) (*plan, error) {
	if base == nil {
		return nil, fmt.Errorf("%w: no base", ErrInput)
	}
	bp := &plan{base: base}
	if err := bp.setBody(); err != nil {
		return nil, err
	}
	if !slices.Equal(bp.names, s.p.names) {
		return nil, fmt.Errorf("%w: base body tensors %s differ from the sum's %s", ErrMismatch, listNames(bp.names), listNames(s.p.names))
	}
	for _, name := range bp.names {
		_, a, _ := base.Info(name)
		_, b, _ := s.p.base.Info(name)
		if !slices.Equal(a, b) {
			return nil, fmt.Errorf("%w: base tensor %q has shape %v, the sum %v", ErrMismatch, name, a, b)
		}
	}
	return bp, nil
}

func (s *Sum) writeTensor(w io.Writer, f *fuser, name string, out, bbuf []float32) error {
	_, shape, _ := f.base.Info(name)
	n, off := elems(shape), s.off[name]
	for lo := 0; lo < n; lo += len(out) {
		hi := min(lo+len(out), n)
		b, err := spanOf(f.base, name, lo, bbuf[:hi-lo])
		if err != nil {
			return fmt.Errorf("base: %w", err)
		}
		if finishMean(out[:hi-lo], b, s.acc[off+lo:off+hi], s.n)&signBit != 0 {
			return s.diagnoseBase(f, name, n, lo, out[:hi-lo])
		}
		if err := f.put(w, float32Bytes(out[:hi-lo])); err != nil {
			return err
		}
	}
	f.stats.Tensors++
	f.stats.Elems += int64(n)
	return nil
}

// diagnoseBase names the base's first non-finite value in tensor name, or
// reports the overflow in out (the span at lo), as Fuse does.
func (s *Sum) diagnoseBase(f *fuser, name string, n, lo int, out []float32) error {
	i, v, bad, err := scan(f.base, name, n, make([]float32, len(s.buf)))
	if err != nil {
		return fmt.Errorf("base: %w", err)
	}
	if bad {
		return fmt.Errorf("%w: base tensor %q element %d is %v", ErrNonFinite, name, i, v)
	}
	i, v, _ = firstNonFinite(out)
	return fmt.Errorf("%w: tensor %q element %d became %v", ErrOverflow, name, lo+i, v)
}

// clipScale is in's clip multiplier under rule: float32(Clip/norm) when
// the norm exceeds Clip, else 1 (as Fuse's coefficients).
func (p *plan) clipScale(in Input, rule Rule, buf []float32) (float32, error) {
	if rule.Clip == 0 {
		return 1, nil
	}
	norm, err := p.norm(in, buf)
	if err != nil {
		return 0, err
	}
	if norm > rule.Clip {
		return float32(rule.Clip / norm), nil
	}
	return 1, nil
}

// CheckRule is Check for a given rule: under a mean rule it also requires
// every value, after the delta's clip scale, to be below SumLimit in
// magnitude (an ErrRange), exactly the deltas Sum.Add and Fuse accept.
func CheckRule(base *checkpoint.Reader, in Input, rule Rule) error {
	if !rule.exact() {
		return Check(base, in)
	}
	if err := rule.Validate(); err != nil {
		return err
	}
	p, err := checkPlan(base, in)
	if err != nil {
		return err
	}
	buf := make([]float32, min(p.maxElem, spanElems))
	k, err := p.clipScale(in, rule, buf)
	if err != nil {
		return err
	}
	for _, name := range p.names {
		if err := p.rangeScan(in, name, k, buf); err != nil {
			return &DeltaError{ID: in.ID, Tensor: name, Err: err}
		}
	}
	return nil
}

// rangeScan returns an error naming the first value of tensor name that a
// mean rule cannot add.
func (p *plan) rangeScan(in Input, name string, k float32, buf []float32) error {
	_, shape, _ := p.base.Info(name)
	n := elems(shape)
	for lo := 0; lo < n; lo += len(buf) {
		v, err := p.deltaSpan(in.Delta, name, lo, buf[:min(len(buf), n-lo)])
		if err != nil {
			return err
		}
		if i, x, bad := firstOutOfRange(v, k); bad {
			return rangeError(lo+i, x)
		}
	}
	return nil
}
