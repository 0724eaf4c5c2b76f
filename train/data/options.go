package data

import "math"

// Options tunes Load. The zero value is not valid; start from DefaultOptions.
type Options struct {
	// TextColumn and LabelColumn name the fields (JSONL) or header columns
	// (CSV/TSV) holding the input text and the class name. Numeric examples
	// always use the JSONL field "features"; a CSV without TextColumn is read
	// as features: every column except LabelColumn must be a number.
	TextColumn, LabelColumn string
	// Labels fixes the class order (index = class id) when the source has no
	// labels.json. Empty: the sorted set of labels seen in train.
	Labels []string
	// TestFraction of each class of train becomes Test when the source has no
	// test file. Must be in (0, 1).
	TestFraction float64
	// DevFraction, when > 0 and the source has no dev file, moves that
	// fraction of each class of train into Dev (see HeldOut). 0 leaves Dev
	// empty. Must be in [0, 1).
	DevFraction float64
	// Name of the task. Empty: the directory or file base name, without its
	// extension.
	Name string
}

// DefaultOptions reads "text" and "label", splits 20% to test when needed
// and leaves Dev empty unless the source has a dev file.
func DefaultOptions() Options {
	return Options{TextColumn: "text", LabelColumn: "label", TestFraction: 0.2}
}

// Validate checks the options.
func (o Options) Validate() error {
	switch {
	case o.TextColumn == "" || o.LabelColumn == "":
		return problem(ErrOptions, "text and label column names must be set (see DefaultOptions)")
	case o.TextColumn == o.LabelColumn:
		return problem(ErrOptions, "text and label columns are both %q", o.TextColumn)
	case o.TextColumn == featuresField || o.LabelColumn == featuresField:
		return problem(ErrOptions, "%q is reserved for numeric inputs; choose another column name", featuresField)
	case !inRange(o.TestFraction, false):
		return problem(ErrOptions, "test fraction %v is not in (0, 1)", o.TestFraction)
	case !inRange(o.DevFraction, true):
		return problem(ErrOptions, "dev fraction %v is not in [0, 1)", o.DevFraction)
	case o.TestFraction+o.DevFraction >= 1:
		return problem(ErrOptions, "test fraction %v + dev fraction %v leave no training data",
			o.TestFraction, o.DevFraction)
	}
	return checkLabelList(o.Labels, "Options.Labels")
}

func inRange(f float64, zeroOK bool) bool {
	if math.IsNaN(f) || f >= 1 {
		return false
	}
	return f > 0 || (zeroOK && f == 0)
}

// checkLabelList rejects empty and duplicate class names.
func checkLabelList(labels []string, what string) error {
	seen := make(map[string]bool, len(labels))
	for i, l := range labels {
		if l == "" {
			return problem(ErrLabel, "%s: class %d has an empty name", what, i)
		}
		if seen[l] {
			return problem(ErrLabel, "%s: class %q is listed twice", what, l)
		}
		seen[l] = true
	}
	return nil
}
