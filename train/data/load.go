package data

import "fmt"

// tables is what was read from a source; Dev and Test are nil when absent.
type tables struct{ train, dev, test *table }

// Load reads the classification task at path, which is one of:
//   - a directory holding train.jsonl (or .csv/.tsv), optional dev and test
//     files of the same kinds, and an optional labels.json (the class order);
//   - a single .jsonl file, one {"text": ..., "label": ...} or
//     {"features": [...], "label": ...} object per line (other fields ignored);
//   - a single .csv or .tsv file with a header row (see Options).
//
// Without a test file, TestFraction of every class of train becomes Test
// (see HeldOut for how the examples are chosen). Without a dev file, Dev is
// empty unless Options.DevFraction is set. Every problem is reported as an
// *Error naming the file and line; nothing is skipped.
func Load(path string, opt Options) (*Task, error) {
	if err := opt.Validate(); err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	src, err := locate(path)
	if err != nil {
		return nil, err
	}
	tabs, err := readAll(src, fields{text: opt.TextColumn, label: opt.LabelColumn})
	if err != nil {
		return nil, err
	}
	cls, err := resolveClasses(src.labels, opt.Labels, tabs.train)
	if err != nil {
		return nil, err
	}
	t, err := build(tabs, cls)
	if err != nil {
		return nil, err
	}
	t.Name = src.name
	if opt.Name != "" {
		t.Name = opt.Name
	}
	return t, finishSplits(t, opt, src.train)
}

// readAll reads every split file and checks they agree on kind and width.
func readAll(src source, f fields) (tabs tables, err error) {
	if tabs.train, err = readSplit(src.train, f); err != nil {
		return tabs, err
	}
	if tabs.dev, err = readSplit(src.dev, f); err != nil {
		return tabs, err
	}
	if tabs.test, err = readSplit(src.test, f); err != nil {
		return tabs, err
	}
	for _, t := range []*table{tabs.dev, tabs.test} {
		if err := sameShape(tabs.train, t); err != nil {
			return tabs, err
		}
	}
	return tabs, nil
}

// sameShape requires t (if present) to have train's kind and width.
func sameShape(train, t *table) error {
	if t == nil {
		return nil
	}
	first := t.recs[0].line
	if t.kind != train.kind {
		return at(t.path, first, problem(ErrField, "examples have %s but %s has %s", t.kind, train.path, train.kind))
	}
	if t.width != train.width {
		return at(t.path, first, problem(ErrFeatures, "%d features, but %s has %d", t.width, train.path, train.width))
	}
	return nil
}

// build resolves every split's labels into a Task.
func build(tabs tables, cls classes) (*Task, error) {
	t := &Task{Kind: tabs.train.kind, Labels: cls.names}
	if t.Kind == Features {
		t.NumFeatures = tabs.train.width
	}
	var err error
	if t.Train, err = cls.examples(tabs.train); err != nil {
		return nil, err
	}
	if err := cls.checkCovered(t.Train, tabs.train.path); err != nil {
		return nil, err
	}
	if tabs.dev != nil {
		if t.Dev, err = cls.examples(tabs.dev); err != nil {
			return nil, err
		}
	}
	if tabs.test != nil {
		t.Test, err = cls.examples(tabs.test)
	}
	return t, err
}

// finishSplits carves Test (and Dev when asked) out of Train when the source
// had no such file.
func finishSplits(t *Task, opt Options, trainPath string) error {
	if t.Test == nil {
		t.Train, t.Test = stratify(t.Train, opt.TestFraction)
		if len(t.Test) == 0 {
			return at(trainPath, 0, problem(ErrEmpty,
				"no test file, and %v of each class of %d examples leaves the test split empty; add a test file or more examples",
				opt.TestFraction, len(t.Train)))
		}
	}
	if t.Dev == nil && opt.DevFraction > 0 {
		t.Train, t.Dev = stratify(t.Train, opt.DevFraction)
	}
	return nil
}
