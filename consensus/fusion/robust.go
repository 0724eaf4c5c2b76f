package fusion

import (
	"math"
)

// robustChunk is how many coordinates the robust rules sort at a time:
// one column of robustChunk values per delta.
const robustChunk = 512

// robust computes Median and Trimmed over coordinates [lo, hi). For a
// block of coordinates it loads one column per delta and sorts every
// coordinate at once with a fixed compare-exchange network. Values are
// sorted as integer keys that order floats totally, -0 before +0; under a
// total order any correct sort yields the same sequence, so the result
// depends only on the multiset of values.
func (j *job) robust(lo, hi int) bool {
	n := len(j.ds)
	cols, tmp := j.scratch.sortBufs(n)
	var bad uint32
	for c := lo; c < hi; c += robustChunk {
		e := min(c+robustChunk, hi)
		m := e - c
		for i, d := range j.ds {
			bad |= j.load(cols[i][:m], d[c:e], i)
		}
		for _, p := range j.net {
			compareExchange(cols[p[0]][:m], cols[p[1]][:m])
		}
		bad |= j.pick(j.out[c:e], j.base[c:e], cols, tmp[:m])
	}
	return bad&signBit != 0
}

// load puts one delta's block, scaled by its coefficient, into its column
// as sort keys, and flags non-finite values: a robust rule could otherwise
// discard them unseen.
func (j *job) load(col []int32, d []float32, i int) uint32 {
	d = d[:len(col)]
	k := float32(1)
	if j.coef != nil {
		k = j.coef[i]
	}
	var bad uint32
	for x, v := range d {
		if j.coef != nil {
			v = float32(k * v)
		}
		b := math.Float32bits(v)
		bad |= b&expMask + expLSB
		col[x] = toKey(b)
	}
	return bad
}

// toKey maps float32 bits to an int32 whose order is the float order with
// -0 < +0: negative floats get their magnitude bits flipped. It is its own
// inverse.
func toKey(b uint32) int32 {
	return int32(b ^ uint32(int32(b)>>31)&0x7fffffff)
}

func fromKey(k int32) float32 {
	return math.Float32frombits(uint32(toKey(uint32(k))))
}

// pick sets out = base + the rule's value from the sorted columns.
func (j *job) pick(out, base []float32, cols [][]int32, tmp []float32) uint32 {
	n, m := len(cols), len(tmp)
	if j.rule.Kind == Median {
		if n%2 == 1 {
			setKeys(tmp, cols[n/2][:m])
		} else {
			midMean(tmp, cols[n/2-1][:m], cols[n/2][:m])
		}
		return addBase(out, base, tmp)
	}
	k := j.rule.trimCount(n)
	setKeys(tmp, cols[k][:m])
	for i := k + 1; i < n-k; i++ {
		addKeys(tmp, cols[i][:m])
	}
	return addMean(out, base, tmp, n-2*k)
}

func setKeys(dst []float32, col []int32) {
	col = col[:len(dst)]
	for i := range dst {
		dst[i] = fromKey(col[i])
	}
}

func addKeys(dst []float32, col []int32) {
	col = col[:len(dst)]
	for i := range dst {
		dst[i] += fromKey(col[i])
	}
}

// midMean averages the two middle values: added exactly in float64,
// halved, rounded once to float32.
func midMean(dst []float32, a, b []int32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = float32((float64(fromKey(a[i])) + float64(fromKey(b[i]))) * 0.5)
	}
}

// compareExchange leaves the smaller of each pair in a, the larger in b.
func compareExchange(a, b []int32) {
	b = b[:len(a)]
	for i, x := range a {
		y := b[i]
		a[i], b[i] = min(x, y), max(x, y)
	}
}

// network returns Batcher's odd-even merge sort for n inputs: the network
// for the next power of two with every comparator that touches a padding
// position dropped (padding would hold +Inf, which never moves).
func network(n int) [][2]int {
	size := 1
	for size < n {
		size <<= 1
	}
	var net [][2]int
	for p := 1; p < size; p <<= 1 {
		for k := p; k >= 1; k >>= 1 {
			for j := k % p; j+k < size; j += 2 * k {
				for i := 0; i < k && i+j+k < size; i++ {
					a, b := i+j, i+j+k
					if a/(2*p) == b/(2*p) && b < n {
						net = append(net, [2]int{a, b})
					}
				}
			}
		}
	}
	return net
}
