package lab

import (
	"fmt"
	"os"

	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/model"
)

// Group says whether a task's data reached the contributors.
type Group string

// The task groups.
const (
	Seen   Group = "seen"
	Unseen Group = "unseen"
)

// Task is a loaded, subsampled task and its group.
type Task struct {
	*data.Task
	Group Group
	Path  string
}

// devFrac is the share of train held out for early stopping when a task has
// no dev split (before the caps apply).
const devFrac = 0.1

// loadTasks loads every seen and unseen task with the node's loader and
// checks that names are distinct and that one body config fits them all.
func loadTasks(cfg Config) ([]*Task, model.Config, error) {
	var tasks []*Task
	names := map[string]string{}
	for _, g := range []struct {
		paths []string
		group Group
	}{{cfg.Seen, Seen}, {cfg.Unseen, Unseen}} {
		for _, p := range g.paths {
			t, err := loadTask(p, cfg)
			if err != nil {
				return nil, model.Config{}, err
			}
			if other, dup := names[t.Name]; dup {
				return nil, model.Config{}, fmt.Errorf("lab: tasks %s and %s are both named %q; task names must differ", other, p, t.Name)
			}
			names[t.Name] = p
			tasks = append(tasks, &Task{Task: t, Group: g.group, Path: p})
		}
	}
	mc, err := bodyConfig(cfg, tasks)
	return tasks, mc, err
}

// loadTask reads a task as `coldnode start` does and caps its splits.
func loadTask(path string, cfg Config) (*data.Task, error) {
	t, err := data.Load(path, data.DefaultOptions())
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", path, err)
	}
	if len(t.Dev) == 0 {
		t.Train, t.Dev = data.HeldOut(t.Train, devFrac)
	}
	t.Train = capSplit(t.Train, cfg.MaxTrain)
	t.Dev = capSplit(t.Dev, cfg.MaxDev)
	t.Test = capSplit(t.Test, cfg.MaxTest)
	if len(t.Train) == 0 || len(t.Dev) == 0 || len(t.Test) == 0 {
		return nil, fmt.Errorf("dataset %s: %s leaves an empty split after subsampling", path, data.Summary(t))
	}
	return t, nil
}

// capSplit keeps about n examples of ex, stratified by class and chosen by
// content hash (see data.HeldOut); n = 0 keeps everything.
func capSplit(ex []data.Example, n int) []data.Example {
	if n == 0 || len(ex) <= n {
		return ex
	}
	_, keep := data.HeldOut(ex, float64(n)/float64(len(ex)))
	return keep
}

// bodyConfig resolves cfg.Model against the first task and checks every
// task fits it. The returned config has Classes 0: heads are per task.
func bodyConfig(cfg Config, tasks []*Task) (model.Config, error) {
	mc, err := modelConfig(cfg, tasks[0].Task)
	if err != nil {
		return mc, err
	}
	for _, t := range tasks {
		c := mc
		c.Classes = len(t.Labels)
		if err := c.CheckTask(t.Task); err != nil {
			return mc, fmt.Errorf("dataset %s does not fit the lab's model: %w", t.Path, err)
		}
	}
	mc.Classes = 0
	return mc, nil
}

func modelConfig(cfg Config, first *data.Task) (model.Config, error) {
	switch cfg.Model {
	case model.Bag, model.MLP, model.Encoder:
		mc, err := model.DefaultConfig(cfg.Model, first)
		if err != nil {
			return mc, fmt.Errorf("lab: --model %s: %w", cfg.Model, err)
		}
		if cfg.Buckets > 0 && mc.Token != nil {
			tk := *mc.Token
			tk.Buckets = cfg.Buckets
			mc.Token = &tk
		}
		return mc, mc.Validate()
	}
	b, err := os.ReadFile(cfg.Model)
	if err != nil {
		return model.Config{}, fmt.Errorf("lab: --model %q is neither bag, encoder, mlp nor a readable config file: %w", cfg.Model, err)
	}
	mc, err := model.ParseConfig(b)
	if err != nil {
		return mc, fmt.Errorf("lab: --model %s: %w", cfg.Model, err)
	}
	return mc, nil
}

// seen returns the seen tasks, in the order given.
func seen(tasks []*Task) []*Task {
	var out []*Task
	for _, t := range tasks {
		if t.Group == Seen {
			out = append(out, t)
		}
	}
	return out
}
