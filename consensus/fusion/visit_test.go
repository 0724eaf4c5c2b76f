package fusion

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// AddVisit shows each value of every body tensor once, in name order and
// span by span from the first value, decoded as Fuse reads it; an error
// from the visitor, at any span, leaves the sum as it was.
func TestAddVisitSeesEveryValueAndUndoes(t *testing.T) {
	fx := newFixture(t, 5, 3)
	enc, _, _ := encodedInputs(t, fx.base, fx.ins[:2])
	for _, in := range append(append([]Input{}, fx.ins...), enc...) {
		s, _ := NewSum(fx.base, DefaultRule)
		s.buf = s.buf[:64] // several spans a tensor
		if err := s.Add(fx.ins[0]); err != nil {
			t.Fatal(err)
		}
		before := sumBytes(t, s, fx.base)
		spans := visitAll(t, s, in)
		for _, stop := range []int{0, 1, spans / 2, spans - 1} {
			if err := s.AddVisit(in, stopAt(stop)); !errors.Is(err, errStop) {
				t.Fatalf("%s: visitor stopping at span %d: %v", in.ID, stop, err)
			}
			if s.Len() != 1 || !bytes.Equal(sumBytes(t, s, fx.base), before) {
				t.Fatalf("%s: the sum changed after a visitor stopped at span %d", in.ID, stop)
			}
		}
	}
}

var errStop = errors.New("stop")

// stopAt is a visitor failing at its stop-th span.
func stopAt(stop int) Visit {
	n := 0
	return func(string, int, []float32) error {
		n++
		if n > stop {
			return errStop
		}
		return nil
	}
}

// visitAll adds in to s with a visitor that checks it sees what
// deltaSpan reads, in order, then removes it; it returns how many spans
// it saw.
func visitAll(t *testing.T, s *Sum, in Input) int {
	spans, next, last := 0, 0, ""
	p := checkPlanOf(t, s, in)
	see := func(name string, lo int, v []float32) error {
		if name != last {
			next, last = 0, name
		}
		want := make([]float32, len(v))
		got, err := p.deltaSpan(in.Delta, name, lo, want)
		if err != nil || lo != next || !equalBits(got, v) {
			t.Fatalf("%s %s: span at %d (want %d): %v", in.ID, name, lo, next, err)
		}
		spans, next = spans+1, lo+len(v)
		return nil
	}
	if err := s.AddVisit(in, see); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(in); err != nil {
		t.Fatal(err)
	}
	if spans < len(s.p.names) {
		t.Fatalf("%s: %d spans for %d tensors", in.ID, spans, len(s.p.names))
	}
	return spans
}

func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func checkPlanOf(t *testing.T, s *Sum, in Input) *plan {
	p, err := checkPlan(s.p.base, in)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
