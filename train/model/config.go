package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/token"
)

// MetaKey is the checkpoint metadata key holding a model's Config as JSON.
const MetaKey = "coldnode.model"

// The architectures.
const (
	Bag     = "bag"     // embedding bag over hashed tokens, mean-pooled, then an MLP
	MLP     = "mlp"     // an MLP over numeric features
	Encoder = "encoder" // a small Transformer encoder over hashed tokens
)

// Config describes a model completely: with it and the tensors a checkpoint is
// self-describing. Classes belongs to the head; every other field to the body.
type Config struct {
	Arch       string        `json:"arch"`
	Token      *token.Config `json:"token,omitempty"`       // bag, encoder
	Features   int           `json:"features,omitempty"`    // mlp: input width
	InputScale float32       `json:"input_scale,omitempty"` // mlp: inputs are multiplied by this
	Dim        int           `json:"dim"`                   // embedding width (bag, encoder); hidden width (mlp)
	Hidden     int           `json:"hidden"`                // MLP hidden width (bag, mlp); feed-forward width (encoder)
	Layers     int           `json:"layers"`                // hidden layers (bag, mlp); Transformer blocks (encoder)
	Heads      int           `json:"heads,omitempty"`       // encoder: attention heads
	SeqLen     int           `json:"seq_len,omitempty"`     // encoder: tokens per text (padded/truncated)
	Classes    int           `json:"classes"`
}

// DefaultConfig returns the default configuration of arch for task: bag and
// encoder need a text task, mlp a feature task. Classes and, for mlp, the
// feature width and input scale come from the task.
func DefaultConfig(arch string, task *data.Task) (Config, error) {
	if task == nil {
		return Config{}, fmt.Errorf("model: default config for %q: no task", arch)
	}
	var c Config
	switch arch {
	case Bag:
		tk := token.Config{Buckets: 1 << 17, Bigrams: true}
		c = Config{Arch: Bag, Token: &tk, Dim: 64, Hidden: 64, Layers: 1}
	case Encoder:
		tk := token.Config{Buckets: 1 << 15, MaxLen: 64}
		c = Config{Arch: Encoder, Token: &tk, Dim: 64, Hidden: 128, Layers: 2, Heads: 4, SeqLen: 64}
	case MLP:
		c = Config{Arch: MLP, Features: task.NumFeatures, InputScale: inputScale(task), Dim: 128, Hidden: 128, Layers: 2}
	default:
		return Config{}, fmt.Errorf("model: unknown architecture %q (want bag, mlp or encoder)", arch)
	}
	c.Classes = len(task.Labels)
	return c, c.CheckTask(task)
}

// inputScale maps the largest absolute training feature to 1.
func inputScale(task *data.Task) float32 {
	var m float32
	for _, ex := range task.Train {
		for _, v := range ex.Features {
			m = max(m, float32(math.Abs(float64(v))))
		}
	}
	if m == 0 {
		return 1
	}
	return 1 / m
}

// ParseConfig decodes and validates a JSON configuration; unknown fields are an error.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("model: parse config: %w", err)
	}
	return c, c.Validate()
}

// Encode returns the canonical JSON form of c.
func (c Config) Encode() string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("model: marshal config: %v", err)) // plain struct: cannot fail
	}
	return string(b)
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if err := c.validateSizes(); err != nil {
		return fmt.Errorf("model: config: %w", err)
	}
	switch c.Arch {
	case Bag, Encoder:
		return c.validateText()
	case MLP:
		if c.Features <= 0 || c.InputScale <= 0 {
			return fmt.Errorf("model: config: mlp needs features > 0 and input_scale > 0 (have %d, %g)", c.Features, c.InputScale)
		}
		// The first layer (or, with no hidden layer, the head) is features x
		// width: cap it at 2^28 weights (1 GiB of F32) so a hostile genesis
		// or checkpoint config cannot demand more memory than any peer has.
		if c.Features > 1<<20 || int64(c.Features)*int64(max(c.Dim, c.Classes)) > 1<<28 {
			return fmt.Errorf("model: config: %d features make a first layer larger than 2^28 weights", c.Features)
		}
		return nil
	}
	return fmt.Errorf("model: config: unknown arch %q (want bag, mlp or encoder)", c.Arch)
}

func (c Config) validateSizes() error {
	const limit = 1 << 16
	if c.Dim <= 0 || c.Dim > limit || c.Hidden <= 0 || c.Hidden > limit {
		return fmt.Errorf("dim %d and hidden %d must be in 1..%d", c.Dim, c.Hidden, limit)
	}
	if c.Layers < 0 || c.Layers > 64 {
		return fmt.Errorf("layers %d out of range 0..64", c.Layers)
	}
	if c.Classes < 0 || c.Classes > limit {
		return fmt.Errorf("classes %d out of range 0..%d", c.Classes, limit)
	}
	return nil
}

func (c Config) validateText() error {
	if c.Token == nil {
		return fmt.Errorf("model: config: %s needs a token config", c.Arch)
	}
	if err := c.Token.Validate(); err != nil {
		return fmt.Errorf("model: config: %w", err)
	}
	if int64(c.Token.Buckets)*int64(c.Dim) > 1<<31 {
		return fmt.Errorf("model: config: embedding of %d x %d is too large", c.Token.Buckets, c.Dim)
	}
	if c.Arch != Encoder {
		return nil
	}
	if c.Layers < 1 || c.Heads <= 0 || c.Dim%c.Heads != 0 || c.SeqLen <= 0 || c.SeqLen > 4096 {
		return fmt.Errorf("model: config: encoder needs layers >= 1, heads dividing dim (%d/%d) and seq_len in 1..4096 (%d)",
			c.Dim, c.Heads, c.SeqLen)
	}
	return nil
}

// CheckTask reports whether the configuration can serve task: the right kind
// of input and, for mlp, the same feature width.
func (c Config) CheckTask(task *data.Task) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if len(task.Labels) < 2 {
		return fmt.Errorf("model: task %q has %d classes; need at least 2", task.Name, len(task.Labels))
	}
	text := c.Arch != MLP
	if text != (task.Kind == data.Text) {
		return fmt.Errorf("model: %s model cannot read %s task %q", c.Arch, task.Kind, task.Name)
	}
	if c.Arch == MLP && c.Features != task.NumFeatures {
		return fmt.Errorf("model: model reads %d features, task %q has %d", c.Features, task.Name, task.NumFeatures)
	}
	return nil
}

// SameBody reports an error when a and b would not give interchangeable bodies.
func SameBody(a, b Config) error {
	a.Classes, b.Classes = 0, 0
	if a.Encode() != b.Encode() {
		return fmt.Errorf("model: body configs differ: %s vs %s", a.Encode(), b.Encode())
	}
	return nil
}

// FromFile reads the Config a checkpoint carries in its metadata.
func FromFile(f *checkpoint.File) (Config, error) {
	s, ok := f.Meta[MetaKey]
	if !ok {
		return Config{}, fmt.Errorf("model: checkpoint has no %q metadata; it was not written by coldnode", MetaKey)
	}
	return ParseConfig([]byte(s))
}
