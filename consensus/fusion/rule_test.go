package fusion

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseRuleCanonical(t *testing.T) {
	cases := map[string]string{
		"mean":                 "mean",
		"weighted":             "weighted",
		"median":               "median",
		"trimmed:0.2":          "trimmed:0.2",
		"trimmed:.25":          "trimmed:0.25",
		"clip:5":               "clip:5,mean",
		"clip:5.0,median":      "clip:5,median",
		"clip:1e3,trimmed:0.1": "clip:1000,trimmed:0.1",
		"clip:0.5,weighted":    "clip:0.5,weighted",
	}
	for in, want := range cases {
		r, err := ParseRule(in)
		if err != nil {
			t.Errorf("ParseRule(%q): %v", in, err)
			continue
		}
		if got := r.String(); got != want {
			t.Errorf("ParseRule(%q).String() = %q, want %q", in, got, want)
		}
		back, err := ParseRule(r.String())
		if err != nil || back != r {
			t.Errorf("round trip of %q: %+v, %v; want %+v", in, back, err, r)
		}
	}
}

func TestParseRuleErrors(t *testing.T) {
	bad := map[string]string{
		"":                   "unknown rule",
		"avg":                "unknown rule",
		"mean:1":             "takes no argument",
		"trimmed":            "needs a fraction",
		"trimmed:0.5":        "must be > 0 and < 0.5",
		"trimmed:0":          "must be > 0 and < 0.5",
		"trimmed:x":          "not a number",
		"clip:0,mean":        "must be > 0",
		"clip:-1":            "must be > 0",
		"clip:NaN":           "must be > 0",
		"clip:Inf,median":    "positive finite",
		"clip:5,clip:4,mean": "unknown rule",
		"clip:,median":       "not a number",
		"Mean":               "unknown rule",
	}
	for in, want := range bad {
		_, err := ParseRule(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRule(%q) = %v, want error containing %q", in, err, want)
		}
	}
}

func TestTrimCount(t *testing.T) {
	r := Rule{Kind: Trimmed, Trim: 0.2}
	for n, want := range map[int]int{1: 0, 4: 0, 5: 1, 9: 1, 10: 2, 14: 2, 15: 3} {
		if got := r.trimCount(n); got != want {
			t.Errorf("trimmed:0.2 of %d drops %d at each end, want %d", n, got, want)
		}
	}
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"mean", "clip:5,median", "trimmed:0.2", "clip:1e-3", "weighted"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			return
		}
		back, err := ParseRule(r.String())
		if err != nil || back != r {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, r, r.String(), back, err)
		}
	})
}

func TestRuleJSON(t *testing.T) {
	type genesis struct{ Rule Rule }
	b, err := json.Marshal(genesis{Rule{Kind: Trimmed, Trim: 0.2, Clip: 5}})
	if err != nil || string(b) != `{"Rule":"clip:5,trimmed:0.2"}` {
		t.Fatalf("marshal: %s, %v", b, err)
	}
	var g genesis
	if err := json.Unmarshal(b, &g); err != nil || g.Rule != (Rule{Kind: Trimmed, Trim: 0.2, Clip: 5}) {
		t.Fatalf("unmarshal: %+v, %v", g, err)
	}
	if err := json.Unmarshal([]byte(`{"Rule":"avg"}`), &g); err == nil {
		t.Fatal("unmarshal of an unknown rule succeeded")
	}
	if _, err := json.Marshal(genesis{Rule{Kind: Trimmed}}); err == nil {
		t.Fatal("marshal of an invalid rule succeeded")
	}
}
