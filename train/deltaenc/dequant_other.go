//go:build !amd64

package deltaenc

// haveDequantizeVector is false: dequantizeRow runs its Go loop.
var haveDequantizeVector = false

func dequantizeAVX2(dst []float32, src []byte, s float32) {
	panic("deltaenc: no vector dequantize on this processor")
}
