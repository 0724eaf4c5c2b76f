// Package data loads classification tasks from disk: JSONL, CSV/TSV files, or a
// task directory laid out as train/dev/test JSONL files with labels.json.
//
// It owns parsing, validation and deterministic splitting. It does not
// tokenize (see package token) and knows nothing of models or the network.
//
// Invariants:
//   - Nothing is skipped or guessed: every malformed line, unknown label,
//     empty split or class without training data is an *Error naming the
//     file and line, wrapping one of the Err* sentinels. Load never panics.
//   - Splits are deterministic and need no seed: where a source has no test
//     (or dev) file, each class gives up its examples of lowest ContentHash,
//     so every peer holding the same file makes the same split, whatever the
//     line order.
//   - Class ids follow labels.json when present, else Options.Labels, else
//     the sorted label strings of train.
//
// Usage:
//
//	task, err := data.Load("../shared/datasets/sst2", data.DefaultOptions())
//	if err != nil { ... }          // e.g. "train.jsonl:12: bad field: ..."
//	train, dev := data.HeldOut(task.Train, 0.1) // for early stopping
//	log.Print(data.Summary(task))
package data

// Kind says whether a task's examples carry text or numeric features.
type Kind int

// The kinds of task.
const (
	Text Kind = iota
	Features
)

func (k Kind) String() string {
	if k == Features {
		return "features"
	}
	return "text"
}

// Example is one labelled input. Exactly one of Text and Features is set,
// according to the task's Kind. Label indexes Task.Labels.
type Example struct {
	Text     string
	Features []float32
	Label    int
}

// Task is a loaded dataset: its class names (index = class id) and splits.
// Dev may be empty when the source has none; Test is never empty.
type Task struct {
	Name        string
	Kind        Kind
	Labels      []string
	NumFeatures int // for Features tasks: the width of every Features slice
	Train       []Example
	Dev         []Example
	Test        []Example
}
