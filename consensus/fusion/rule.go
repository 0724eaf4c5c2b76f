package fusion

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind names how the deltas are combined, coordinate by coordinate.
type Kind uint8

// The combining rules a genesis may name.
const (
	// Mean is the paper's plain average: base + (d_1 + ... + d_n) / n.
	Mean Kind = iota
	// Weighted averages with weights proportional to each delta's examples.
	Weighted
	// Median takes the coordinate-wise median.
	Median
	// Trimmed drops the Trim fraction of values at each end of every
	// coordinate and averages the rest.
	Trimmed
)

var kindNames = [...]string{Mean: "mean", Weighted: "weighted", Median: "median", Trimmed: "trimmed"}

// String returns the kind's name as it appears in a rule.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Rule is a complete combining rule: a Kind, its trim fraction, and an
// optional per-delta L2 norm bound applied before combining.
//
// Its canonical text form (String, ParseRule) is "mean", "weighted",
// "median", "trimmed:F" or any of them prefixed by "clip:NORM,", for
// example "clip:5,median". "clip:NORM" alone means "clip:NORM,mean".
type Rule struct {
	Kind Kind
	// Trim is the fraction dropped at each end per coordinate, for Trimmed
	// only: 0 < Trim < 0.5. trimmed:0.2 over 10 deltas drops 2 low and 2 high.
	Trim float64
	// Clip bounds each delta's L2 norm over all its body tensors; a delta
	// whose norm exceeds Clip is scaled down to norm Clip. 0 disables it.
	Clip float64
}

// DefaultRule is the paper's plain mean.
var DefaultRule = Rule{Kind: Mean}

// ParseRule parses the text form of a rule. ParseRule(r.String()) == r for
// every valid r.
func ParseRule(s string) (Rule, error) {
	var r Rule
	rest := s
	if strings.HasPrefix(s, "clip:") {
		norm, tail, _ := strings.Cut(strings.TrimPrefix(s, "clip:"), ",")
		v, err := parseNumber(norm)
		if err != nil {
			return Rule{}, fmt.Errorf("rule %q: clip norm: %w", s, err)
		}
		if !(v > 0) {
			return Rule{}, fmt.Errorf("rule %q: clip norm must be > 0", s)
		}
		r.Clip, rest = v, tail
		if rest == "" {
			rest = "mean"
		}
	}
	if err := r.parseKind(rest); err != nil {
		return Rule{}, fmt.Errorf("rule %q: %w", s, err)
	}
	if err := r.Validate(); err != nil {
		return Rule{}, fmt.Errorf("rule %q: %w", s, err)
	}
	return r, nil
}

func (r *Rule) parseKind(s string) error {
	name, arg, hasArg := strings.Cut(s, ":")
	switch name {
	case "mean", "weighted", "median":
		if hasArg {
			return fmt.Errorf("%s takes no argument", name)
		}
		r.Kind = map[string]Kind{"mean": Mean, "weighted": Weighted, "median": Median}[name]
		return nil
	case "trimmed":
		if !hasArg {
			return fmt.Errorf("trimmed needs a fraction, e.g. trimmed:0.2")
		}
		v, err := parseNumber(arg)
		if err != nil {
			return fmt.Errorf("trim fraction: %w", err)
		}
		r.Kind, r.Trim = Trimmed, v
		return nil
	}
	return fmt.Errorf("unknown rule %q (want mean, weighted, median, trimmed:F, optionally after clip:NORM,)", s)
}

func parseNumber(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

// String returns the canonical text form of r.
func (r Rule) String() string {
	k := r.Kind.String()
	if r.Kind == Trimmed {
		k += ":" + formatNumber(r.Trim)
	}
	if r.Clip != 0 {
		return "clip:" + formatNumber(r.Clip) + "," + k
	}
	return k
}

func formatNumber(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Validate reports whether r is a rule Fuse accepts.
func (r Rule) Validate() error {
	if int(r.Kind) >= len(kindNames) {
		return fmt.Errorf("unknown rule kind %d", r.Kind)
	}
	if r.Kind == Trimmed && !(r.Trim > 0 && r.Trim < 0.5) {
		return fmt.Errorf("trim fraction %v must be > 0 and < 0.5", r.Trim)
	}
	if r.Kind != Trimmed && r.Trim != 0 {
		return fmt.Errorf("trim fraction %v given for rule %s", r.Trim, r.Kind)
	}
	if r.Clip < 0 || math.IsNaN(r.Clip) || math.IsInf(r.Clip, 0) {
		return fmt.Errorf("clip norm %v must be a positive finite number", r.Clip)
	}
	return nil
}

// trimCount is how many values Trimmed drops at each end of n.
func (r Rule) trimCount(n int) int {
	return int(math.Floor(r.Trim * float64(n)))
}

// MarshalText writes the canonical form, so a Rule is a plain string in a
// JSON or TOML genesis.
func (r Rule) MarshalText() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return []byte(r.String()), nil
}

// UnmarshalText parses the text form (see ParseRule).
func (r *Rule) UnmarshalText(b []byte) error {
	v, err := ParseRule(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
