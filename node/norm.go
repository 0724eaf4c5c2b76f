package node

import (
	"math"

	"github.com/coldnode/coldnode/consensus/fusion"
)

// laneNorm judges a delta's norm against a bound from fusion.Squares, a
// quick stand-in for normSum's one sequential sum (whose chain of
// dependent adds takes several times as long). The two sums differ only
// by rounding, which the count of values bounds, so within can tell when
// a delta's norm is surely within the bound by either; only a delta near
// the bound needs the sequential sum to be judged.
type laneNorm struct{ sq fusion.Squares }

// add is a fusion.Visit: it adds the squares of v.
func (l *laneNorm) add(_ string, _ int, v []float32) error {
	l.sq.Add(v)
	return nil
}

// within reports whether normSum's norm of the same values (any tensor
// split, any order) is surely at most bound (bound <= 0: no bound). Both
// sums add n exact non-negative squares, each add rounding once, so each
// is within a relative (2n+16)·2^-53 of the exact sum of squares (normSum
// adds at most one per-tensor total per value); a margin of (8n+64)·2^-53
// on each side of the comparison covers both, the rounding of the margin's
// own products and of the square root. A non-finite sum is never within.
func (l *laneNorm) within(bound float64) bool {
	if bound <= 0 {
		return true
	}
	s, d := l.sq.Sum(), float64(l.sq.Len()+8)*0x1p-50
	if math.IsNaN(s) || math.IsInf(s, 0) || d >= 0.25 {
		return false
	}
	return s*(1+d) <= bound*bound*(1-d)
}
