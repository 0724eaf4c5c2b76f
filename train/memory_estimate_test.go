package train

import (
	"testing"

	"github.com/coldnode/coldnode/train/optim"
)

// PeakBytes counts weights, gradients, moments and a quarter body, and
// FittingMoments picks the most precise storage that fits, falling back
// to int8 when none does.
func TestFittingMoments(t *testing.T) {
	const n = 1 << 20 // 4,096 blocks of 256
	for _, c := range []struct {
		p    optim.Precision
		want int64
	}{{optim.FP32, 17 * n}, {optim.BF16, 13 * n}, {optim.INT8, 11*n + 8*4096}} {
		if got := PeakBytes(n, c.p); got != c.want {
			t.Errorf("PeakBytes(%d, %s) = %d, want %d", n, c.p, got, c.want)
		}
	}
	for _, c := range []struct {
		room int64
		want optim.Precision
		fits bool
	}{
		{1 << 40, optim.FP32, true}, {17 * n, optim.FP32, true}, {17*n - 1, optim.BF16, true},
		{13 * n, optim.BF16, true}, {13*n - 1, optim.INT8, true}, {11*n + 8*4096, optim.INT8, true},
		{11*n + 8*4095, optim.INT8, false}, {0, optim.INT8, false}, {-5, optim.INT8, false},
	} {
		got, fits := FittingMoments(n, c.room)
		if got != c.want || fits != c.fits {
			t.Errorf("FittingMoments(%d, %d) = %s, %v; want %s, %v", n, c.room, got, fits, c.want, c.fits)
		}
	}
}
