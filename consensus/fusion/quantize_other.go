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

func finishAVX2(out, base []float32, acc []int64, div float64) uint64 {
	panic("fusion: no vector finish on this processor")
}

func quantize4PlainAVX2(acc []int64, a, b, c, d []float32) uint32 {
	panic("fusion: no vector quantize on this processor")
}

func squaresAVX2(lanes *[16]float64, v []float32) {
	panic("fusion: no vector squares on this processor")
}
