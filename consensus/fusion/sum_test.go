package fusion

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// sumBytes writes a Sum's mean onto base.
func sumBytes(t *testing.T, s *Sum, base *checkpoint.Reader) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.WriteMean(&buf, base); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A Sum built in any order, with deltas added, removed and added again,
// writes the bytes Fuse writes for the multiset it ends with, plain and
// encoded deltas alike, for every mean rule.
func TestSumMatchesFuse(t *testing.T) {
	fx := newFixture(t, 21, 9)
	enc, _, _ := encodedInputs(t, fx.base, fx.ins[:6])
	pool := append(append([]Input{}, fx.ins...), enc...)
	pool = append(pool, fx.ins[2]) // the same delta twice counts twice
	for _, rs := range []string{"mean", "clip:0.1,mean", "clip:0.05,mean", "clip:100,mean"} {
		rule := mustRule(t, rs)
		for trial := range 4 {
			rng := rand.New(rand.NewPCG(uint64(trial), 3))
			s, err := NewSum(fx.base, rule)
			if err != nil {
				t.Fatal(err)
			}
			kept := buildSum(t, s, pool, rng)
			want := fuseBytes(t, fx.base, kept, rule, 1+trial%3)
			if got := sumBytes(t, s, fx.base); !bytes.Equal(got, want) {
				t.Fatalf("%s trial %d: Sum of %d deltas differs from Fuse", rs, trial, len(kept))
			}
			if s.Len() != len(kept) {
				t.Fatalf("%s: Len %d, want %d", rs, s.Len(), len(kept))
			}
		}
	}
}

// buildSum adds the pool in a random order, removes a random third, and
// returns the inputs the sum ends with.
func buildSum(t *testing.T, s *Sum, pool []Input, rng *rand.Rand) []Input {
	t.Helper()
	order := rng.Perm(len(pool))
	for _, i := range order {
		if err := s.Add(pool[i]); err != nil {
			t.Fatal(err)
		}
	}
	var kept []Input
	for _, i := range order {
		if rng.IntN(3) > 0 {
			kept = append(kept, pool[i])
			continue
		}
		if err := s.Remove(pool[i]); err != nil {
			t.Fatal(err)
		}
	}
	return kept
}

// The fixed-point mean is exact: it is independent of input order and
// equals the mean computed with math.RoundToEven and float64 division.
func TestSumSpec(t *testing.T) {
	base := open(t, vec("body.a", []float32{1, -2, 0.5, 3}))
	vals := [][]float32{{0.1, 1e-7, -3e-12, 1000}, {0.2, -1e-7, 3e-12, -999.5}, {1.0 / 3, 0x1p-37, 0x1.8p-36, 0}}
	s, _ := NewSum(base, DefaultRule)
	var ins []Input
	for i, v := range vals {
		in := Input{ID: string(rune('a' + i)), Delta: open(t, vec("body.a", v))}
		ins = append(ins, in)
		if err := s.Add(in); err != nil {
			t.Fatal(err)
		}
	}
	out := decoded(t, sumBytes(t, s, base))["body.a"]
	b := []float32{1, -2, 0.5, 3}
	for x := range b {
		col := []float32{vals[0][x], vals[1][x], vals[2][x]}
		if want := b[x] + specMean(col); math.Float32bits(out[x]) != math.Float32bits(want) {
			t.Errorf("[%d] = %v, spec %v", x, out[x], want)
		}
	}
	for seed := range uint64(5) {
		if got := fuseBytes(t, base, shuffled(ins, seed), DefaultRule, 1); !bytes.Equal(got, sumBytes(t, s, base)) {
			t.Fatalf("order %d changed the mean", seed)
		}
	}
}

// A delta with a value the sum cannot hold is refused with an error naming
// it, and the sum is left exactly as it was; CheckRule gives the same
// verdict without a sum.
func TestSumRefusesBadDelta(t *testing.T) {
	fx := newFixture(t, 5, 3)
	cases := map[string]float32{"range": 5000, "nan": float32(math.NaN()), "inf": float32(math.Inf(-1))}
	for name, x := range cases {
		s, _ := NewSum(fx.base, DefaultRule)
		for _, in := range fx.ins[:2] {
			if err := s.Add(in); err != nil {
				t.Fatal(err)
			}
		}
		before := sumBytes(t, s, fx.base)
		bad := corrupt(t, fx.deltas[2], "body.big", 70000, x)
		in := Input{ID: "bad", Delta: bad}
		err := s.Add(in)
		var de *DeltaError
		if !errors.As(err, &de) || de.ID != "bad" || de.Tensor != "body.big" {
			t.Fatalf("%s: Add = %v, want a DeltaError naming bad, body.big", name, err)
		}
		if cerr := CheckRule(fx.base, in, DefaultRule); cerr == nil || cerr.Error() != err.Error() {
			t.Errorf("%s: CheckRule = %v, Add = %v", name, cerr, err)
		}
		if !bytes.Equal(sumBytes(t, s, fx.base), before) || s.Len() != 2 || s.Count("bad") != 0 {
			t.Fatalf("%s: a refused delta changed the sum", name)
		}
	}
}

// corrupt returns a copy of delta f with element i of tensor name set to x.
func corrupt(t *testing.T, f *checkpoint.File, name string, i int, x float32) *checkpoint.Reader {
	t.Helper()
	out := &checkpoint.File{Meta: f.Meta}
	for _, tn := range f.Tensors {
		if tn.Name == name {
			v, _ := tn.F32()
			v = append([]float32{}, v...)
			v[i] = x
			tn = checkpoint.NewF32(tn.Name, tn.Shape, v)
		}
		out.Tensors = append(out.Tensors, tn)
	}
	return open(t, out)
}

// Clipping scales a delta before the range check: a large delta under
// clip:C,mean is accepted when its clipped values are in range.
func TestSumClipBeforeRange(t *testing.T) {
	base := open(t, vec("body.a", []float32{0, 0}))
	in := Input{ID: "big", Delta: open(t, vec("body.a", []float32{3000, 4000}))}
	if err := CheckRule(base, in, DefaultRule); !errors.Is(err, ErrRange) {
		t.Fatalf("mean: CheckRule = %v, want ErrRange", err)
	}
	rule := mustRule(t, "clip:5,mean")
	if err := CheckRule(base, in, rule); err != nil {
		t.Fatalf("clip:5,mean: %v", err)
	}
	s, _ := NewSum(base, rule)
	if err := s.Add(in); err != nil {
		t.Fatal(err)
	}
	if got := decoded(t, sumBytes(t, s, base))["body.a"]; math.Abs(float64(got[0])-3) > 1e-5 || math.Abs(float64(got[1])-4) > 1e-5 {
		t.Fatalf("clip:5,mean of (3000, 4000) = %v, want (3, 4)", got)
	}
}

func TestSumRejects(t *testing.T) {
	fx := newFixture(t, 8, 1)
	if _, err := NewSum(fx.base, Rule{Kind: Median}); !errors.Is(err, ErrInput) {
		t.Errorf("median: NewSum = %v, want ErrInput", err)
	}
	s, _ := NewSum(fx.base, DefaultRule)
	if err := s.Remove(fx.ins[0]); !errors.Is(err, ErrInput) {
		t.Errorf("Remove of a delta never added = %v, want ErrInput", err)
	}
	if _, err := s.WriteMean(&bytes.Buffer{}, fx.base); !errors.Is(err, ErrInput) {
		t.Errorf("WriteMean of an empty sum = %v, want ErrInput", err)
	}
	if err := s.Add(fx.ins[0]); err != nil {
		t.Fatal(err)
	}
	other := open(t, vec("body.a", []float32{1}))
	if _, err := s.WriteMean(&bytes.Buffer{}, other); !errors.Is(err, ErrMismatch) {
		t.Errorf("WriteMean on another layout = %v, want ErrMismatch", err)
	}
	wrong := Input{ID: "w", Delta: open(t, vec("body.a", []float32{1}))}
	if err := s.Add(wrong); !errors.Is(err, ErrMismatch) || s.Len() != 1 {
		t.Errorf("Add of a mismatched delta = %v (len %d), want ErrMismatch and no change", err, s.Len())
	}
}

// The AVX2 loop and the Go loop add the same integers for every kind of
// value, ties and values at the range limit included, and flag the same
// inputs.
func TestQuantizeVectorMatchesGo(t *testing.T) {
	if !haveQuantizeVector {
		t.Log("no AVX2 here: the Go loop is the only one (the golden vectors check it)")
		return
	}
	rng := rand.New(rand.NewPCG(4, 4))
	special := []float32{0, float32(math.Copysign(0, -1)), 0x1p-37, 0x1.8p-36, -0x1.8p-36, 0x1.4p-35,
		1023.9999, -1023.9999, 1024, -1024, float32(math.NaN()), float32(math.Inf(1)), 1e-45, 3e38}
	for trial := range 200 {
		n := rng.IntN(70)
		v := make([]float32, n)
		for i := range v {
			if rng.IntN(4) == 0 {
				v[i] = special[rng.IntN(len(special))]
			} else {
				v[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-9)))
			}
		}
		k := float32(1)
		if trial%2 == 1 {
			k = float32(rng.Float64())
		}
		neg := trial%3 == 0
		init := make([]int64, n)
		for i := range init {
			init[i] = rng.Int64N(1<<50) - 1<<49
		}
		vec, plain := append([]int64{}, init...), append([]int64{}, init...)
		gotBad := quantizeAdd(vec, v, k, neg) & signBit
		useQuantizeVector = false
		wantBad := quantizeAdd(plain, v, k, neg) & signBit
		useQuantizeVector = true
		if gotBad != wantBad {
			t.Fatalf("trial %d: bad flag %x, Go loop %x", trial, gotBad, wantBad)
		}
		for i := range vec {
			if vec[i] != plain[i] {
				t.Fatalf("trial %d: [%d] (v=%v k=%v neg=%v): AVX2 %d, Go %d", trial, i, v[i], k, neg, vec[i]-init[i], plain[i]-init[i])
			}
		}
	}
}

// go test -run '^$' -bench QuantizeAdd ./consensus/fusion/
func BenchmarkQuantizeAdd(b *testing.B) {
	v := make([]float32, 1<<16)
	for i := range v {
		v[i] = float32(i%1000) * 1e-4
	}
	acc := make([]int64, len(v))
	b.SetBytes(int64(4 * len(v)))
	for b.Loop() {
		quantizeAdd(acc, v, 1, false)
	}
}

// finishMean's AVX2 loop writes the bits of the Go loop, also around and
// beyond 2^51 (where it hands groups to Go) and when results overflow.
func TestFinishVectorMatchesGo(t *testing.T) {
	if !haveQuantizeVector {
		t.Log("no AVX2 here: the Go loop is the only one (the golden vectors check it)")
		return
	}
	rng := rand.New(rand.NewPCG(8, 8))
	for trial := range 300 {
		n := rng.IntN(40)
		acc, base := make([]int64, n), make([]float32, n)
		for i := range acc {
			switch rng.IntN(6) {
			case 0:
				acc[i] = 1<<51 - 1 + rng.Int64N(3) // at and past the limit
			case 1:
				acc[i] = -(1 << 51) - 1 + rng.Int64N(3)
			case 2:
				acc[i] = rng.Int64N(1<<62) - 1<<61
			default:
				acc[i] = rng.Int64N(1<<40) - 1<<39
			}
			base[i] = float32(rng.NormFloat64())
			if rng.IntN(20) == 0 {
				base[i] = float32(math.Inf(1))
			}
		}
		k := 1 + rng.IntN(20000)
		got, want := make([]float32, n), make([]float32, n)
		gb := finishMean(got, base, acc, k) & signBit
		useQuantizeVector = false
		wb := finishMean(want, base, acc, k) & signBit
		useQuantizeVector = true
		if gb != wb {
			t.Fatalf("trial %d: flag %x, Go %x", trial, gb, wb)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("trial %d: [%d] acc %d n %d: AVX2 %v, Go %v", trial, i, acc[i], k, got[i], want[i])
			}
		}
	}
}
