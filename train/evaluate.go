package train

import (
	"fmt"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/model"
)

// evalBatch is the batch size of inference.
const evalBatch = 256

// Evaluate scores body plus head on split, one of task's splits. The head's
// config must describe the same body and task.Labels' class count.
func Evaluate(body, head *checkpoint.File, task *data.Task, split []data.Example) (Metrics, error) {
	w, err := bind(body, head, task)
	if err != nil {
		return Metrics{}, err
	}
	net, err := model.NewNet(w, evalBatch, model.Infer)
	if err != nil {
		return Metrics{}, err
	}
	in, err := model.NewInputs(w.Config, split)
	if err != nil {
		return Metrics{}, fmt.Errorf("train: evaluate: %w", err)
	}
	if in.Len() == 0 {
		return Metrics{}, fmt.Errorf("train: evaluate: the split is empty")
	}
	return evaluate(net, in)
}

// bind checks that body and head belong together and fit task.
func bind(body, head *checkpoint.File, task *data.Task) (*model.Weights, error) {
	if body == nil || head == nil || task == nil {
		return nil, fmt.Errorf("train: need a body, a head and a task")
	}
	bc, err := model.FromFile(body)
	if err != nil {
		return nil, fmt.Errorf("train: body: %w", err)
	}
	hc, err := model.FromFile(head)
	if err != nil {
		return nil, fmt.Errorf("train: head: %w", err)
	}
	if err := model.SameBody(bc, hc); err != nil {
		return nil, fmt.Errorf("train: head was trained on another body: %w", err)
	}
	if err := hc.CheckTask(task); err != nil {
		return nil, fmt.Errorf("train: model does not fit task: %w", err)
	}
	if hc.Classes != len(task.Labels) {
		return nil, fmt.Errorf("train: head has %d classes, task %q has %d", hc.Classes, task.Name, len(task.Labels))
	}
	return model.NewWeights(hc, body, head)
}
