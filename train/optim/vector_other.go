//go:build !amd64

package optim

// haveVector is false: the optimiser runs its Go loops.
var haveVector = false

func step8AVX2(w, g []float32, mc []int8, sc []uint8, mb, sb []float32, p *params8) (uint32, uint32) {
	panic("optim: no vector 8-bit step on this processor")
}

func code8AVX2(mc []int8, sc []uint8, mb, sb []float32, mInv, sInv float32, key uint64) {
	panic("optim: no vector 8-bit coding on this processor")
}

func adamAVX2(w, m, v, g []float32, p *paramsF32) {
	panic("optim: no vector AdamW step on this processor")
}

func adamRowsAVX2(w, m, v, g []float32, rows []int32, dim int, p *paramsF32) {
	panic("optim: no vector AdamW step on this processor")
}

func adam16AVX2(w []float32, m, v []uint16, g []float32, p *paramsF32, key uint64) {
	panic("optim: no vector bfloat16 AdamW step on this processor")
}

func adam16RowsAVX2(w []float32, m, v []uint16, g []float32, rows []int32, dim int, p *paramsF32, keys []uint64) {
	panic("optim: no vector bfloat16 AdamW step on this processor")
}

func prefetchRow8(w *float32, m *int8, s *uint8, mScale, sScale *float32) {}
