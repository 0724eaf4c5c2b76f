package fusion

// Squares sums the squares of float32 values in float64, sixteen lanes at
// a time (value i of each Add to lane i mod 16, then the lanes pairwise):
// a quick sum for judging a delta's norm against a bound. Every square of
// a float32 is exact in float64, so each add rounds once and, for n
// values, the sum is within a relative (n-1)·2^-53 of the exact sum of
// squares, as is any other order's sum of the same values (a caller
// judging by another order's result allows for both). The result does
// not depend on the processor. The zero value is an empty sum.
type Squares struct {
	lanes [16]float64
	n     int
}

// Add adds the squares of v, v[0] to lane 0.
func (q *Squares) Add(v []float32) {
	q.n += len(v)
	if useSquaresVector && len(v) >= 16 {
		n := len(v) &^ 15
		squaresAVX2(&q.lanes, v[:n])
		v = v[n:]
	}
	for i, x := range v {
		f := float64(x)
		q.lanes[i%16] += f * f
	}
}

// Len is how many values were added.
func (q *Squares) Len() int { return q.n }

// Sum is the sum of the squares added.
func (q *Squares) Sum() float64 {
	l := q.lanes
	for w := 8; w >= 1; w /= 2 {
		for i := range w {
			l[i] += l[i+w]
		}
	}
	return l[0]
}

// useSquaresVector selects the AVX2 loop where there is one; tests switch
// it off to check the Go loop gives the same sums.
var useSquaresVector = haveQuantizeVector
