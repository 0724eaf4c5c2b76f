package data

import (
	"math"
	"strconv"
)

// record is one decoded source line before its label is resolved to a class.
type record struct {
	line     int
	kind     Kind
	text     string
	features []float32
	label    string
}

// table is one source file's records, all of one kind and width.
type table struct {
	path  string
	kind  Kind
	width int // features per record, for Features tables
	recs  []record
}

// add appends r, checking it has the kind and width of the records before it.
func (t *table) add(r record) error {
	if len(t.recs) == 0 {
		t.kind, t.width = r.kind, len(r.features)
	} else if r.kind != t.kind {
		return problem(ErrField, "line has %s but line %d has %s", r.kind, t.recs[0].line, t.kind)
	} else if len(r.features) != t.width {
		return problem(ErrFeatures, "%d features, but line %d has %d",
			len(r.features), t.recs[0].line, t.width)
	}
	t.recs = append(t.recs, r)
	return nil
}

// parseFeature converts one number to a finite float32. i is the 0-based
// position, for the message.
func parseFeature(s string, i int) (float32, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) {
		return 0, problem(ErrFeatures, "feature %d: %q is not a number", i, s)
	}
	v := float32(f)
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return 0, problem(ErrFeatures, "feature %d: %s is not a finite float32", i, s)
	}
	return v, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// checkLabel rejects an empty class name.
func checkLabel(label string) error {
	if label == "" {
		return problem(ErrLabel, "empty label")
	}
	return nil
}
