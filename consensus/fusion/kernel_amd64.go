package fusion

// haveVector reports that addTo, addScaledTo and scaleTo are SSE assembly
// (kernel_amd64.s); elsewhere they are the portable loops.
const haveVector = true

// addTo sets a[i] = a[i] + b[i]. len(b) must be >= len(a).
//
//go:noescape
func addTo(a, b []float32)

// addScaledTo sets a[i] = a[i] + float32(k*b[i]). len(b) must be >= len(a).
//
//go:noescape
func addScaledTo(a, b []float32, k float32)

// scaleTo sets a[i] = k*b[i]. len(b) must be >= len(a).
//
//go:noescape
func scaleTo(a, b []float32, k float32)

// mulAddTo sets out[i] = base[i] + float32(a[i]*k) and returns a word whose
// sign bit is set if any out[i] is NaN or infinite. base and a must be at
// least as long as out.
//
//go:noescape
func mulAddTo(out, base, a []float32, k float32) uint32

// divAddTo is mulAddTo with a[i]/k.
//
//go:noescape
func divAddTo(out, base, a []float32, k float32) uint32

// add4To sets a[i] = (((a[i] + b[i]) + c[i]) + d[i]) + e[i]. b, c, d and e
// must be at least as long as a.
//
//go:noescape
func add4To(a, b, c, d, e []float32)

// addScaled4To sets a[i] = (((a[i] + float32(k[0]*b[i])) + float32(k[1]*c[i]))
// + float32(k[2]*d[i])) + float32(k[3]*e[i]), every product rounded to
// float32 before it is added. b, c, d and e must be at least as long as a.
//
//go:noescape
func addScaled4To(a, b, c, d, e []float32, k *[4]float32)
