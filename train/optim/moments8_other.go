//go:build !amd64

package optim

// haveBlock8Vector is false: the 8-bit moments run their Go loops.
var haveBlock8Vector = false

func step8AVX2(w, g []float32, mc []int8, sc []uint8, mb, sb []float32, p *params8) (uint32, uint32) {
	panic("optim: no vector 8-bit step on this processor")
}

func code8AVX2(mc []int8, sc []uint8, mb, sb []float32, mInv, sInv float32, key uint64) {
	panic("optim: no vector 8-bit coding on this processor")
}
