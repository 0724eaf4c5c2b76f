package data

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
)

// FuzzDecodeLine: the JSONL line decoder never panics, every error wraps one
// of the package's sentinels, and every accepted line round-trips.
// Seeds live in testdata/fuzz/FuzzDecodeLine.
func FuzzDecodeLine(f *testing.F) {
	f.Add([]byte(`{"text":"hello world","label":"pos"}`))
	f.Add([]byte(`{"features":[1,2.5,-3e2],"label":7}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := decodeLine(line, fields{text: "text", label: "label"})
		if err != nil {
			if !wrapsSentinel(err) {
				t.Fatalf("error %q wraps no sentinel", err)
			}
			return
		}
		checkRecord(t, r)
		again, err := decodeLine(reencode(t, r), fields{text: "text", label: "label"})
		if err != nil || !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", line, again, err, r)
		}
	})
}

func wrapsSentinel(err error) bool {
	for _, s := range []error{ErrSyntax, ErrField, ErrLabel, ErrEmpty, ErrEncoding, ErrFeatures} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func checkRecord(t *testing.T, r record) {
	if r.label == "" {
		t.Fatal("accepted an empty label")
	}
	if (r.kind == Features) != (len(r.features) > 0) || (r.kind == Features && r.text != "") {
		t.Fatalf("record %+v mixes kinds", r)
	}
	for _, v := range r.features {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("accepted non-finite feature %v", v)
		}
	}
}

func reencode(t *testing.T, r record) []byte {
	obj := map[string]any{"label": r.label}
	if r.kind == Features {
		obj["features"] = r.features
	} else {
		obj["text"] = r.text
	}
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
