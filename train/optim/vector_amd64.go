package optim

import "golang.org/x/sys/cpu"

// haveVector reports whether the AVX2 loops (adamAVX2, adamRowsAVX2,
// adam16AVX2, step8AVX2, code8AVX2) can run here.
var haveVector = cpu.X86.HasAVX2

// step8AVX2 is step8's loop over the first len(mc) &^ 7 values, with the
// same float32 operations in the same order (no fused multiply-add), so
// the same bits. It returns the largest magnitudes' bits, as step8 keeps
// them. The other slices must be at least as long as mc.
//
//go:noescape
func step8AVX2(w, g []float32, mc []int8, sc []uint8, mb, sb []float32, p *params8) (mMax, sMax uint32)

// code8AVX2 is code8's loop over the first len(mc) &^ 7 values, the
// random bits of value i from mix(key + (i+1)*0x9e3779b97f4a7c15).
//
//go:noescape
func code8AVX2(mc []int8, sc []uint8, mb, sb []float32, mInv, sInv float32, key uint64)

// adamAVX2 is update's loop over the first len(w) &^ 7 values, with the
// same float32 operations in the same order, so the same bits. m, v and
// g must be at least as long as w.
//
//go:noescape
func adamAVX2(w, m, v, g []float32, p *paramsF32)

// adamRowsAVX2 is update on each of rows of the rows x dim tables w, m
// and v, g holding dim values per row in the order of rows. dim must be
// a positive multiple of 8 and every row in range: the caller checks.
//
//go:noescape
func adamRowsAVX2(w, m, v, g []float32, rows []int32, dim int, p *paramsF32)

// adam16AVX2 is update16's loop over the first len(w) &^ 7 values, with
// the same float32 operations in the same order and the random bits of
// value i from mix(key + (i+1)*0x9e3779b97f4a7c15), so the same bits.
// m, v and g must be at least as long as w.
//
//go:noescape
func adam16AVX2(w []float32, m, v []uint16, g []float32, p *paramsF32, key uint64)

// adam16RowsAVX2 is update16 on each of rows of the rows x dim tables w,
// m and v, keyed by keys (one per row), g holding dim values per row in
// the order of rows. dim must be a positive multiple of 8 and every row
// in range: the caller checks.
//
//go:noescape
func adam16RowsAVX2(w []float32, m, v []uint16, g []float32, rows []int32, dim int, p *paramsF32, keys []uint64)

// prefetchRow8 asks for the cache lines of an 8-bit row ahead of its
// update: the first 256 bytes of its weights, the first line of its
// codes and of its scales.
//
//go:noescape
func prefetchRow8(w *float32, m *int8, s *uint8, mScale, sScale *float32)
