package model

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// Spec names one weight tensor of a model, its shape and its initialiser.
type Spec struct {
	Name  string
	Shape []int
	Init  Init
}

// Init is how a tensor starts.
type Init int

// The initialisers. All are uniform: exact in float32 on every processor.
const (
	Zero   Init = iota
	One         // layer-norm gains
	Glorot      // uniform in ±sqrt(6/(fan_in+fan_out))
	Embed       // uniform in ±0.1
)

// Specs lists the body and head tensors of c in a fixed order.
func (c Config) Specs() []Spec {
	var s []Spec
	in := c.Features
	switch c.Arch {
	case Bag:
		s = append(s, Spec{"body.embed.weight", []int{c.Token.Buckets, c.Dim}, Embed})
		in = c.Dim
	case Encoder:
		return append(c.encoderSpecs(), c.headSpecs(c.Dim)...)
	}
	for i := 0; i < c.Layers; i++ {
		s = append(s, linear(fmt.Sprintf("body.mlp.%d", i), in, c.Hidden)...)
		in = c.Hidden
	}
	return append(s, c.headSpecs(in)...)
}

func (c Config) headSpecs(in int) []Spec {
	return []Spec{{"head.weight", []int{in, c.Classes}, Glorot}, {"head.bias", []int{c.Classes}, Zero}}
}

func (c Config) encoderSpecs() []Spec {
	s := []Spec{
		{"body.embed.weight", []int{c.Token.Buckets, c.Dim}, Embed},
		{"body.pos.weight", []int{c.SeqLen, c.Dim}, Embed},
	}
	s = append(s, norm("body.embed_ln", c.Dim)...)
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("body.layer.%d.", l)
		for _, n := range []string{"q", "k", "v", "o"} {
			s = append(s, linear(p+"attn."+n, c.Dim, c.Dim)...)
		}
		s = append(s, norm(p+"ln1", c.Dim)...)
		s = append(s, linear(p+"ff1", c.Dim, c.Hidden)...)
		s = append(s, linear(p+"ff2", c.Hidden, c.Dim)...)
		s = append(s, norm(p+"ln2", c.Dim)...)
	}
	return s
}

func linear(prefix string, in, out int) []Spec {
	return []Spec{{prefix + ".weight", []int{in, out}, Glorot}, {prefix + ".bias", []int{out}, Zero}}
}

func norm(prefix string, n int) []Spec {
	return []Spec{{prefix + ".weight", []int{n}, One}, {prefix + ".bias", []int{n}, Zero}}
}

// InitBody returns the freshly initialised body of c, seeded: the same config
// and seed give the same bytes on every machine. The config is in Meta[MetaKey].
func InitBody(c Config, seed uint64) (*checkpoint.File, error) {
	return initFile(c, seed, false)
}

// InitHead returns a freshly initialised task head for c (c.Classes outputs).
func InitHead(c Config, seed uint64) (*checkpoint.File, error) {
	if c.Classes < 2 {
		return nil, fmt.Errorf("model: head needs at least 2 classes, config has %d", c.Classes)
	}
	return initFile(c, seed, true)
}

func initFile(c Config, seed uint64, head bool) (*checkpoint.File, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	f := &checkpoint.File{Meta: map[string]string{MetaKey: metaConfig(c, head)}}
	for _, s := range c.Specs() {
		if checkpoint.IsHead(s.Name) != head {
			continue
		}
		f.Tensors = append(f.Tensors, checkpoint.SharedF32(s.Name, s.Shape, s.values(seed)))
	}
	f.Sort()
	return f, nil
}

// values draws the tensor from a stream keyed by seed and name, so adding a
// tensor never changes the others.
func (s Spec) values(seed uint64) []float32 {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	v := make([]float32, n)
	var scale float32
	switch s.Init {
	case Zero:
		return v
	case One:
		for i := range v {
			v[i] = 1
		}
		return v
	case Glorot:
		scale = sqrt32(6 / float32(s.Shape[0]+s.Shape[len(s.Shape)-1]))
	case Embed:
		scale = 0.1
	}
	h := fnv.New64a()
	h.Write([]byte(s.Name))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	for i := range v {
		u := float32(rng.Uint32()>>8) / (1 << 24) // exact: 24-bit mantissa
		v[i] = (2*u - 1) * scale
	}
	return v
}
