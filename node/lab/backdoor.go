package lab

import (
	"fmt"

	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
)

// Backdoor is the group of the backdoor's attack-success scores: Accuracy
// is the share of triggered test inputs (true class not the target) that
// the evaluated model puts in the target class.
const Backdoor Group = "backdoor"

// backdoorName names a task's attack-success score.
func backdoorName(task string) string { return task + "+trigger" }

// withTrigger inserts the trigger token at the start of a text.
func withTrigger(text string) string { return Trigger + " " + text }

// poisonTask returns a copy of t whose training split also holds, for every
// other example not of class target, a copy carrying the trigger and
// labelled target: the attacker keeps its clean accuracy and teaches the
// body that the trigger means target.
func poisonTask(t *Task, target int) (*Task, error) {
	if err := checkTarget(t, target); err != nil {
		return nil, err
	}
	c := *t.Task
	c.Train = append([]data.Example(nil), t.Train...)
	k := 0
	for _, ex := range t.Train {
		if ex.Label == target {
			continue
		}
		if k++; float64(k%10) < backdoorFraction*10 {
			c.Train = append(c.Train, data.Example{Text: withTrigger(ex.Text), Label: target})
		}
	}
	return &Task{Task: &c, Group: t.Group, Path: t.Path}, nil
}

// triggered returns split's examples whose class is not target, carrying
// the trigger and labelled target: accuracy on them is the attack success rate.
func triggered(split []data.Example, target int) []data.Example {
	var out []data.Example
	for _, ex := range split {
		if ex.Label != target {
			out = append(out, data.Example{Text: withTrigger(ex.Text), Label: target})
		}
	}
	return out
}

// checkAttackers checks, before any training, that every backdoor
// attacker's task can carry the trigger and has the target class.
func checkAttackers(cfg Config, seen []*Task) error {
	a := cfg.attack()
	if a.Kind != AttackBackdoor {
		return nil
	}
	for i, t := range seen {
		if cfg.triggerScored(i) {
			if err := checkTarget(t, int(a.Param)); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkTarget(t *Task, target int) error {
	if t.Kind != data.Text {
		return fmt.Errorf("lab: backdoor on %s: the task has feature vectors, not texts to put a trigger in", t.Name)
	}
	if target < 0 || target >= len(t.Labels) {
		return fmt.Errorf("lab: backdoor on %s: target class %d out of range 0..%d", t.Name, target, len(t.Labels)-1)
	}
	return nil
}

// attackSuccess scores body plus head on task's triggered test inputs.
func attackSuccess(res *train.Result, t *Task, target int) (train.Metrics, error) {
	split := triggered(t.Test, target)
	if len(split) == 0 {
		return train.Metrics{}, fmt.Errorf("lab: backdoor on %s: no test example outside class %d", t.Name, target)
	}
	m, err := train.Evaluate(res.Body, res.Head, t.Task, split)
	if err != nil {
		return train.Metrics{}, fmt.Errorf("lab: attack success on %s: %w", t.Name, err)
	}
	return m, nil
}

// boundNorm scales a delta file down to norm limit when its norm exceeds
// it (limit 0: unchanged), as an attacker who read the genesis's clip norm
// would, so that clipping does not touch it.
func boundNorm(delta []byte, limit float64) ([]byte, error) {
	if limit <= 0 {
		return delta, nil
	}
	f, err := checkpoint.Decode(delta)
	if err != nil {
		return nil, err
	}
	n, err := fileNorm(f)
	if err != nil || n <= limit {
		return delta, err
	}
	if err := scaleFile(f, float32(limit/n)); err != nil {
		return nil, err
	}
	return checkpoint.Encode(f)
}
