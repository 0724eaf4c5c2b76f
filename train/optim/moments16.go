package optim

import (
	"fmt"
	"hash/fnv"
	"math"
)

// Precision is how AdamW stores its two moment estimates.
type Precision uint8

// The precisions.
const (
	// FP32 keeps them in float32: PyTorch's AdamW arithmetic, two bodies
	// of optimiser state.
	FP32 Precision = iota
	// BF16 keeps them in bfloat16 (half the memory: one body of state).
	// Each step still computes in float32 and uses the new float32
	// moments for its own update; only what is carried to the next step
	// is rounded, stochastically (round up with probability equal to
	// the discarded fraction), so that small decays and increments are
	// kept on average instead of being lost as round-to-nearest loses
	// beta2's 0.1% a step. The random bits come from a counter-based
	// generator keyed by the tensor's name, the step, the row (sparse
	// updates) and the element, so a run is reproducible bit for bit and
	// does not depend on how rows are split over goroutines.
	BF16
	// INT8 keeps them in 8 bits per value with a float32 scale per block
	// of 256 (a quarter of a body of state, and 1/32 of a body of
	// scales); see moments8.go. Stochastic rounding, reproducible, as BF16.
	INT8
)

var precisionNames = [...]string{FP32: "fp32", BF16: "bf16", INT8: "int8"}

func (p Precision) String() string {
	if int(p) < len(precisionNames) {
		return precisionNames[p]
	}
	return fmt.Sprintf("precision(%d)", p)
}

// StateBytes is about the memory AdamW's moments take for n values at
// precision p: two float32 (8 bytes) or two bfloat16 (4) a value, or two
// 8-bit codes a value and two float32 scales a block of 256.
func (p Precision) StateBytes(n int64) int64 {
	switch p {
	case BF16:
		return 4 * n
	case INT8:
		return 2*n + 8*((n+block8-1)/block8)
	}
	return 8 * n
}

// ParsePrecision reads "fp32", "bf16" or "int8".
func ParsePrecision(s string) (Precision, error) {
	for p, name := range precisionNames {
		if s == name {
			return Precision(p), nil
		}
	}
	return 0, fmt.Errorf("optim: unknown moment precision %q (want fp32, bf16 or int8)", s)
}

// roundKey seeds the rounding bits of one tensor (row 0) or one embedding
// row (row r+1) at the current step.
func (a *AdamW) roundKey(name string, row uint64) uint64 {
	return a.rowKey(nameHash(name), row)
}

// nameHash is the FNV-1a hash of a tensor's name that roundKey starts from.
func nameHash(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// rowKey is roundKey with the name's hash already taken (nameHash), for
// loops over the rows of one table.
func (a *AdamW) rowKey(hash, row uint64) uint64 {
	return mix(hash ^ mix(uint64(a.step)^row*0x9e3779b97f4a7c15))
}

// mix is SplitMix64's finaliser.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// update16 is update with moments stored in bfloat16: the arithmetic of
// update (with the weight decay w *= decay, 1: none) on the widened
// moments, then each moment rounded stochastically with 16 random bits
// (element i of the run keyed by key).
func (a *AdamW) update16(w []float32, m, v []uint16, g []float32, lr, decay float32, key uint64) {
	p := a.params32(lr, decay)
	m, v, g = m[:len(w)], v[:len(w)], g[:len(w)]
	done := 0
	if useAdamVector && len(w) >= 8 {
		adam16AVX2(w, m, v, g, &p, key)
		done = len(w) &^ 7
	}
	state := key + uint64(done)*0x9e3779b97f4a7c15
	for i := done; i < len(w); i++ {
		gi := g[i]
		mi := float32(p.b1*widen(m[i])) + float32(p.c1*gi)
		vi := float32(p.b2*widen(v[i])) + float32(float32(p.c2*gi)*gi)
		state += 0x9e3779b97f4a7c15
		r := mix(state)
		m[i], v[i] = narrow(mi, uint32(r)), narrow(vi, uint32(r>>32))
		den := float32(float32(math.Sqrt(float64(vi)))*p.isb2) + p.eps
		w[i] = float32(w[i]*p.decay) - float32(p.step*mi)/den
	}
}

func widen(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// narrow rounds x to bfloat16 stochastically with the low 16 bits of r:
// adding them below the kept bits carries into them with probability equal
// to the discarded fraction of the magnitude. A magnitude within one step
// of the largest finite value may round to infinity, which a moment never
// approaches (its float32 form would have overflowed first).
func narrow(x float32, r uint32) uint16 {
	b := math.Float32bits(x)
	if b&0x7f800000 != 0x7f800000 {
		return uint16((b + r&0xffff) >> 16)
	}
	h := uint16(b >> 16) // Inf stays Inf; NaN stays NaN
	if b&0x7fffff != 0 {
		h |= 1
	}
	return h
}
