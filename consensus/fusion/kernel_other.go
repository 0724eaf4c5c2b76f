//go:build !amd64

package fusion

import "math"

// haveVector is false: no assembly for this processor, the portable
// grouped loops in kernel.go run instead.
const haveVector = false

func addTo(a, b []float32)           { add1(a, b) }
func add4To(a, b, c, d, e []float32) { add4(a, b, c, d, e) }

func addScaled4To(a, b, c, d, e []float32, k *[4]float32) { addScaled4(a, b, c, d, e, k[:]) }
func addScaledTo(a, b []float32, k float32)               { addScaled(a, b, k) }
func scaleTo(a, b []float32, k float32)                   { scale(a, b, k) }

func mulAddTo(out, base, a []float32, k float32) uint32 {
	base, a = base[:len(out)], a[:len(out)]
	var bad uint32
	for i, x := range a {
		o := base[i] + float32(x*k)
		out[i] = o
		bad |= math.Float32bits(o)&expMask + expLSB
	}
	return bad
}

func divAddTo(out, base, a []float32, k float32) uint32 {
	base, a = base[:len(out)], a[:len(out)]
	var bad uint32
	for i, x := range a {
		o := base[i] + x/k
		out[i] = o
		bad |= math.Float32bits(o)&expMask + expLSB
	}
	return bad
}
