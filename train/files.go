package train

import (
	"fmt"
	"os"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/model"
)

// Merge returns one checkpoint holding body and head tensors, with the head's
// config (it names the classes count) in its metadata.
func Merge(body, head *checkpoint.File) *checkpoint.File {
	out := &checkpoint.File{Meta: map[string]string{}}
	for k, v := range body.Meta {
		out.Meta[k] = v
	}
	for k, v := range head.Meta {
		out.Meta[k] = v
	}
	out.Tensors = append(append(out.Tensors, body.Body().Tensors...), head.Head().Tensors...)
	out.Sort()
	return out
}

// Split separates a merged checkpoint into body and head (which may be empty).
// The body's config has its classes cleared, as Weights.Body writes it.
func Split(f *checkpoint.File) (body, head *checkpoint.File, err error) {
	cfg, err := model.FromFile(f)
	if err != nil {
		return nil, nil, err
	}
	body, head = f.Body(), f.Head()
	bc := cfg
	bc.Classes = 0
	body.Meta[model.MetaKey] = bc.Encode()
	return body, head, nil
}

// LoadBody reads the body of a model file (a body, a delta-applied base or a
// merged body+head file).
func LoadBody(path string) (*checkpoint.File, error) {
	f, err := checkpoint.Load(path)
	if err != nil {
		return nil, fmt.Errorf("train: load model: %w", err)
	}
	body, _, err := Split(f)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}
	return body, nil
}

// NewBody returns a fresh seeded body for task: arch is "bag", "mlp",
// "encoder", or the path of a JSON model config.
func NewBody(arch string, task *data.Task, seed uint64) (*checkpoint.File, error) {
	cfg, err := configFor(arch, task)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckTask(task); err != nil {
		return nil, err
	}
	return model.InitBody(cfg, seed)
}

func configFor(arch string, task *data.Task) (model.Config, error) {
	switch arch {
	case model.Bag, model.MLP, model.Encoder:
		return model.DefaultConfig(arch, task)
	}
	b, err := os.ReadFile(arch)
	if err != nil {
		return model.Config{}, fmt.Errorf("train: model %q is neither bag, mlp, encoder nor a readable config file: %w", arch, err)
	}
	cfg, err := model.ParseConfig(b)
	if err != nil {
		return model.Config{}, fmt.Errorf("train: %s: %w", arch, err)
	}
	cfg.Classes = len(task.Labels)
	return cfg, nil
}
