package data

import "fmt"

// Summary describes a task in one line, for logs and the CLI:
// "sst2: text, 2 classes, train 6920, dev 872, test 1821".
func Summary(t *Task) string {
	if t == nil {
		return "no task"
	}
	kind := t.Kind.String()
	if t.Kind == Features {
		kind = fmt.Sprintf("features(%d)", t.NumFeatures)
	}
	return fmt.Sprintf("%s: %s, %d classes, train %d, dev %d, test %d",
		t.Name, kind, len(t.Labels), len(t.Train), len(t.Dev), len(t.Test))
}

// Counts returns how many examples of each class ex holds. Labels outside
// [0, classes) are not counted.
func Counts(ex []Example, classes int) []int {
	out := make([]int, max(classes, 0))
	for _, e := range ex {
		if e.Label >= 0 && e.Label < classes {
			out[e.Label]++
		}
	}
	return out
}
