package data

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"unicode/utf8"
)

// classes is the class list of a task and where it came from.
type classes struct {
	names []string
	index map[string]int
	from  string // "labels.json path", "Options.Labels" or "train"
}

// resolveClasses picks the class order: labels.json, else Options.Labels,
// else the sorted labels of train. When both a labels.json and
// Options.Labels are given they must agree.
func resolveClasses(labelsPath string, fixed []string, train *table) (classes, error) {
	switch {
	case labelsPath != "":
		names, err := readLabels(labelsPath)
		if err == nil && len(fixed) > 0 && !slices.Equal(names, fixed) {
			err = at(labelsPath, 0, problem(ErrLabel, "class list %q disagrees with Options.Labels %q", names, fixed))
		}
		return newClasses(names, labelsPath), err
	case len(fixed) > 0:
		return newClasses(fixed, "Options.Labels"), nil
	}
	return newClasses(seenLabels(train), "train"), nil
}

func newClasses(names []string, from string) classes {
	c := classes{names: names, index: make(map[string]int, len(names)), from: from}
	for i, n := range names {
		c.index[n] = i
	}
	return c
}

// readLabels reads a labels.json: a JSON array of distinct, non-empty strings.
func readLabels(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read class list: %w", err)
	}
	if !utf8.Valid(b) {
		return nil, at(path, 0, problem(ErrEncoding, "invalid UTF-8 at byte %d", badByte(b)))
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return nil, at(path, 0, problem(ErrSyntax, "want a JSON array of class names: %v", err))
	}
	if len(names) == 0 {
		return nil, at(path, 0, problem(ErrEmpty, "no classes"))
	}
	if err := checkLabelList(names, "class list"); err != nil {
		return nil, at(path, 0, err)
	}
	return names, nil
}

// seenLabels is the sorted set of train's labels.
func seenLabels(t *table) []string {
	seen := make(map[string]bool)
	var out []string
	for _, r := range t.recs {
		if !seen[r.label] {
			seen[r.label] = true
			out = append(out, r.label)
		}
	}
	slices.Sort(out)
	return out
}

// examples turns a table's records into examples of the given classes.
func (c classes) examples(t *table) ([]Example, error) {
	out := make([]Example, len(t.recs))
	for i, r := range t.recs {
		id, ok := c.index[r.label]
		if !ok {
			return nil, at(t.path, r.line, problem(ErrLabel, "label %q is not one of the %d classes of %s", r.label, len(c.names), c.from))
		}
		out[i] = Example{Text: r.text, Features: r.features, Label: id}
	}
	return out, nil
}

// checkCovered requires every class to have a training example.
func (c classes) checkCovered(train []Example, path string) error {
	counts := Counts(train, len(c.names))
	for i, n := range counts {
		if n == 0 {
			return at(path, 0, problem(ErrClass, "class %q (from %s) has no training example", c.names[i], c.from))
		}
	}
	return nil
}
