//go:build !amd64

package fusion

// haveQuantizeVector is false: quantizeAdd runs its Go loop.
var haveQuantizeVector = false

func quantizeAVX2(acc []int64, v []float32, k float32, neg bool) uint32 {
	panic("fusion: no vector quantize on this processor")
}

func quantize4AVX2(acc []int64, a, b, c, d []float32, k *[4]float32) uint32 {
	panic("fusion: no vector quantize on this processor")
}
