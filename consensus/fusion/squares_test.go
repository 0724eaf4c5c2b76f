package fusion

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// The vector loop of Squares gives the Go loop's bits, and the sum is
// within its stated error of the exact sum of squares.
func TestSquaresMatchesGoAndExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	for _, n := range []int{0, 1, 15, 16, 17, 100, 4099} {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * math.Exp(rng.Float64()*40-20))
		}
		var vec, scalar Squares
		vec.Add(v[:n/3])
		vec.Add(v[n/3:])
		useSquaresVector = false
		scalar.Add(v[:n/3])
		scalar.Add(v[n/3:])
		useSquaresVector = haveQuantizeVector
		if vec.Sum() != scalar.Sum() || vec.Len() != n || vec.lanes != scalar.lanes {
			t.Fatalf("n %d: vector %v (len %d), Go %v", n, vec.Sum(), vec.Len(), scalar.Sum())
		}
		exact := new(big.Float).SetPrec(2000)
		for _, x := range v {
			f := new(big.Float).SetFloat64(float64(x))
			exact.Add(exact, f.Mul(f, f))
		}
		e, _ := exact.Float64()
		if math.Abs(vec.Sum()-e) > float64(max(n-1, 0))*0x1p-53*e {
			t.Fatalf("n %d: sum %v, exact %v", n, vec.Sum(), e)
		}
	}
}
