package model

import (
	"fmt"

	"github.com/coldnode/coldnode/train/data"
)

// Inputs is a split encoded once for a config: token ids for text models,
// scaled features for mlp, and the labels.
type Inputs struct {
	Labels []int
	ids    []int32 // text: ids of example i are ids[off[i]:off[i+1]]
	off    []int
	feats  []float32 // mlp: len(Labels) x Features, scaled
}

// Len is the number of examples.
func (in *Inputs) Len() int { return len(in.Labels) }

// NewInputs encodes examples for c, checking labels against c.Classes and
// feature widths against c.Features.
func NewInputs(c Config, examples []data.Example) (*Inputs, error) {
	in := &Inputs{Labels: make([]int, len(examples)), off: []int{0}}
	for i, ex := range examples {
		if ex.Label < 0 || ex.Label >= c.Classes {
			return nil, fmt.Errorf("model: example %d has label %d, model has %d classes", i, ex.Label, c.Classes)
		}
		in.Labels[i] = ex.Label
		if err := in.add(c, i, ex); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func (in *Inputs) add(c Config, i int, ex data.Example) error {
	if c.Arch != MLP {
		in.ids = c.Token.Encode(ex.Text, in.ids)
		if c.Arch == Encoder && len(in.ids)-in.off[i] > c.SeqLen {
			in.ids = in.ids[:in.off[i]+c.SeqLen]
		}
		in.off = append(in.off, len(in.ids))
		return nil
	}
	if len(ex.Features) != c.Features {
		return fmt.Errorf("model: example %d has %d features, model reads %d", i, len(ex.Features), c.Features)
	}
	for _, v := range ex.Features {
		in.feats = append(in.feats, v*c.InputScale)
	}
	return nil
}

// Tokens returns the token ids of example i (text models).
func (in *Inputs) Tokens(i int) []int32 { return in.ids[in.off[i]:in.off[i+1]] }
