package fusion

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
)

// ExamplesKey is the safetensors metadata key a delta may carry with the
// number of training examples behind it, used by the Weighted rule when
// Input.Examples is zero.
const ExamplesKey = "coldnode.examples"

// Input is one delta to fuse.
type Input struct {
	// ID identifies the delta; inputs are combined in ascending ID order.
	// The swarm uses the delta file's CID string.
	ID string
	// Examples is the number of training examples behind the delta, used by
	// Weighted. Zero means: read ExamplesKey from the delta's metadata.
	Examples int64
	// Delta is the opened delta file. Its head tensors are ignored.
	Delta *checkpoint.Reader
}

// plan is everything Fuse decides before reading tensor data.
type plan struct {
	base    *checkpoint.Reader
	names   []string // base body tensors, ascending
	inputs  []Input  // ascending by ID
	weights []float64
	maxElem int
	// dec holds the decoders of encoded deltas' tensors (see encoded.go).
	dec map[*checkpoint.Reader]map[string]*deltaenc.Tensor
}

func newPlan(base *checkpoint.Reader, inputs []Input, rule Rule) (*plan, error) {
	if err := rule.Validate(); err != nil {
		return nil, err
	}
	if base == nil {
		return nil, fmt.Errorf("%w: no base", ErrInput)
	}
	p := &plan{base: base}
	if err := p.setBody(); err != nil {
		return nil, err
	}
	if err := p.setInputs(inputs); err != nil {
		return nil, err
	}
	for _, in := range p.inputs {
		if err := p.match(in); err != nil {
			return nil, err
		}
	}
	if rule.Kind == Weighted {
		return p, p.setWeights()
	}
	return p, nil
}

// setBody collects the base's body tensors, which must all be F32.
func (p *plan) setBody() error {
	for _, name := range p.base.Names() {
		if checkpoint.IsHead(name) {
			continue
		}
		dt, shape, _ := p.base.Info(name)
		if dt != checkpoint.F32 {
			return fmt.Errorf("%w: base body tensor %q is %s; fusion needs F32 bodies", ErrMismatch, name, dt)
		}
		p.names = append(p.names, name)
		p.maxElem = max(p.maxElem, elems(shape))
	}
	if len(p.names) == 0 {
		return fmt.Errorf("%w: base has no body tensors", ErrInput)
	}
	return nil
}

func (p *plan) setInputs(inputs []Input) error {
	if len(inputs) == 0 {
		return fmt.Errorf("%w: no deltas", ErrInput)
	}
	p.inputs = slices.Clone(inputs)
	// Two contributions may carry the same delta (two peers with the same data
	// and seed): both count. Equal IDs mean equal bytes, so ordering them by
	// Examples as well leaves no tie whose order could change the sum.
	slices.SortFunc(p.inputs, func(a, b Input) int {
		return cmp.Or(strings.Compare(a.ID, b.ID), cmp.Compare(a.Examples, b.Examples))
	})
	for i, in := range p.inputs {
		if in.ID == "" {
			return fmt.Errorf("%w: delta %d has an empty ID", ErrInput, i)
		}
		if in.Delta == nil {
			return &DeltaError{ID: in.ID, Err: fmt.Errorf("%w: no reader", ErrInput)}
		}
	}
	return nil
}

// match checks one delta's body tensors against the base's.
func (p *plan) match(in Input) error {
	var missing, extra []string
	for _, name := range p.names {
		dt, shape, ok := in.Delta.Info(name)
		if !ok {
			missing = append(missing, name)
			continue
		}
		_, want, _ := p.base.Info(name)
		if encoded, err := p.bind(in, name, want); encoded || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		if dt != checkpoint.F32 {
			return &DeltaError{ID: in.ID, Tensor: name, Err: fmt.Errorf(
				"%w: dtype %s, base has F32 (convert the delta to float32 first)", ErrMismatch, dt)}
		}
		if !slices.Equal(shape, want) {
			return &DeltaError{ID: in.ID, Tensor: name, Err: fmt.Errorf(
				"%w: shape %v, base has %v", ErrMismatch, shape, want)}
		}
	}
	for _, name := range in.Delta.Names() {
		if _, _, ok := p.base.Info(name); !ok && !checkpoint.IsHead(name) && !p.companion(in.Delta, name) {
			extra = append(extra, name)
		}
	}
	if len(missing)+len(extra) > 0 {
		return &DeltaError{ID: in.ID, Err: fmt.Errorf("%w: %s", ErrMismatch, describeSets(missing, extra))}
	}
	return nil
}

func describeSets(missing, extra []string) string {
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing body tensors "+listNames(missing))
	}
	if len(extra) > 0 {
		parts = append(parts, "body tensors not in the base "+listNames(extra))
	}
	return strings.Join(parts, "; ")
}

func listNames(names []string) string {
	const show = 5
	if len(names) <= show {
		return strconv.Quote(strings.Join(names, `", "`))
	}
	return fmt.Sprintf("%q and %d more", strings.Join(names[:show], `", "`), len(names)-show)
}

// setWeights resolves each delta's example count and normalises them.
func (p *plan) setWeights() error {
	counts := make([]int64, len(p.inputs))
	var total int64
	for i, in := range p.inputs {
		n, err := examples(in)
		if err != nil {
			return &DeltaError{ID: in.ID, Err: err}
		}
		if n > math.MaxInt64-total {
			return fmt.Errorf("%w: example counts overflow int64", ErrInput)
		}
		counts[i], total = n, total+n
	}
	p.weights = make([]float64, len(counts))
	for i, n := range counts {
		p.weights[i] = float64(n) / float64(total)
	}
	return nil
}

func examples(in Input) (int64, error) {
	n := in.Examples
	if n == 0 {
		s, ok := in.Delta.Meta[ExamplesKey]
		if !ok {
			return 0, fmt.Errorf("%w: weighted rule needs an example count (metadata %q or Input.Examples)", ErrInput, ExamplesKey)
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: metadata %s=%q is not an integer", ErrInput, ExamplesKey, s)
		}
		n = v
	}
	if n <= 0 {
		return 0, fmt.Errorf("%w: example count %d must be positive", ErrInput, n)
	}
	return n, nil
}

func elems(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
