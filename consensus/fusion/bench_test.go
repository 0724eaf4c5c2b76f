package fusion

import (
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/coldnode/coldnode/train/checkpoint"
)

const (
	benchDeltas = 8
	benchElems  = 4 << 20 // 16 MiB per tensor: far larger than the caches
)

// BenchmarkFusionVsCopy times the fusion kernel over a base and eight
// deltas of 16 MiB each against copy() of the same input bytes into a
// 16 MiB buffer, interleaved in the same loop so both see the same
// machine load. It reports both rates over the input bytes, from each
// side's fastest iteration, and their ratio (fuse/copy; the target is
// >= 0.9 for the linear rules).
func BenchmarkFusionVsCopy(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	base, ds := randomVectors(rng, benchElems, benchDeltas)
	coef := make([]float32, benchDeltas)
	for i := range coef {
		coef[i] = 1 / float32(benchDeltas)
	}
	cases := []struct {
		name string
		rule Rule
		coef []float32
	}{
		{"mean", Rule{Kind: Mean}, nil},
		{"weighted", Rule{Kind: Weighted}, coef},
		{"clip,mean", Rule{Kind: Mean, Clip: 1}, coef},
		{"median", Rule{Kind: Median}, nil},
		{"trimmed:0.2", Rule{Kind: Trimmed, Trim: 0.2}, nil},
	}
	for _, c := range cases {
		for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(c.name+"/workers="+strconv.Itoa(workers), func(b *testing.B) {
				j := job{rule: c.rule, out: make([]float32, benchElems), base: base, ds: ds, coef: c.coef}
				dst := make([]float32, benchElems)
				inputs := append([][]float32{base}, ds...)
				var tm timing
				for b.Loop() {
					t0 := time.Now()
					j.run(workers)
					t1 := time.Now()
					for _, in := range inputs {
						copy(dst, in)
					}
					tm.add(t1.Sub(t0), time.Since(t1))
				}
				tm.report(b, (benchDeltas+1)*benchElems*4)
			})
		}
	}
}

// BenchmarkFuseVsCopy times the whole streaming Fuse, writing to
// io.Discard, against copy() of the same input bytes, interleaved in one
// loop, with the inputs opened two ways:
//
//	readat  checkpoint.Open over a bytes.Reader: every span is copied into
//	        Fuse's reused buffers with ReadRangeInto (as from files)
//	view    checkpoint.OpenBytes: Fuse reads the spans in place (as from
//	        memory-mapped files or bytes already in memory)
//
// go test -run '^$' -bench 'FuseVsCopy' -benchtime 15x -count 3 ./consensus/fusion/
func BenchmarkFuseVsCopy(b *testing.B) {
	rng := rand.New(rand.NewPCG(6, 6))
	base, ds := randomVectors(rng, benchElems, benchDeltas)
	enc := func(v []float32) []byte {
		out, err := checkpoint.Encode(&checkpoint.File{Tensors: []checkpoint.Tensor{checkpoint.NewF32("body.w", []int{len(v)}, v)}})
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	raw := [][]byte{enc(base)}
	for _, d := range ds {
		raw = append(raw, enc(d))
	}
	for _, view := range []bool{false, true} {
		name := map[bool]string{false: "readat", true: "view"}[view]
		b.Run(name, func(b *testing.B) {
			viewInputs = view
			defer func() { viewInputs = false }()
			benchFuse(b, raw)
		})
	}
}

func benchFuse(b *testing.B, raw [][]byte) {
	baseR := openBytes(b, raw[0])
	ins := make([]Input, len(raw)-1)
	for i, data := range raw[1:] {
		ins[i] = Input{ID: strconv.Itoa(i), Delta: openBytes(b, data)}
	}
	dst := make([]byte, len(raw[0]))
	var tm timing
	for b.Loop() {
		t0 := time.Now()
		if _, err := Fuse(io.Discard, baseR, ins, DefaultRule); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		for _, r := range raw {
			copy(dst, r)
		}
		tm.add(t1.Sub(t0), time.Since(t1))
	}
	tm.report(b, len(raw)*len(raw[0]))
}

// timing keeps the fastest iteration of each side: on a shared machine the
// minimum is the least disturbed estimate, and both minima come from the
// same interleaved run.
type timing struct{ fuse, copy time.Duration }

func (t *timing) add(fuse, cp time.Duration) {
	if t.fuse == 0 || fuse < t.fuse {
		t.fuse = fuse
	}
	if t.copy == 0 || cp < t.copy {
		t.copy = cp
	}
}

func (t *timing) report(b *testing.B, bytesPerOp int) {
	b.ReportMetric(float64(bytesPerOp)/t.fuse.Seconds()/1e9, "fuse-GB/s")
	b.ReportMetric(float64(bytesPerOp)/t.copy.Seconds()/1e9, "copy-GB/s")
	b.ReportMetric(t.copy.Seconds()/t.fuse.Seconds(), "fuse/copy")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkSumVsCopy times what a node does with a mean rule (see Sum):
// Add of each delta as it arrives, then one WriteMean onto the base, to
// io.Discard, against copy() of the same input bytes, interleaved in one
// loop; inputs are read in place (checkpoint.OpenBytes). Add runs on one
// goroutine, as in the node.
//
// go test -run '^$' -bench 'SumVsCopy' -benchtime 15x -count 3 ./consensus/fusion/
func BenchmarkSumVsCopy(b *testing.B) {
	rng := rand.New(rand.NewPCG(6, 6))
	base, ds := randomVectors(rng, benchElems, benchDeltas)
	raw := [][]byte{encodeVector(b, base)}
	for _, d := range ds {
		raw = append(raw, encodeVector(b, d))
	}
	baseR := openBytes(b, raw[0])
	ins := make([]Input, len(ds))
	for i, data := range raw[1:] {
		ins[i] = Input{ID: strconv.Itoa(i), Delta: openBytes(b, data)}
	}
	dst := make([]byte, len(raw[0]))
	var add, tm timing
	for b.Loop() {
		s, err := NewSum(baseR, DefaultRule)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		for _, in := range ins {
			if err := s.Add(in); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		if _, err := s.WriteMean(io.Discard, baseR); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		for _, r := range raw {
			copy(dst, r)
		}
		tm.add(t2.Sub(t0), time.Since(t2))
		add.add(t1.Sub(t0), time.Since(t2))
	}
	tm.report(b, len(raw)*len(raw[0]))
	b.ReportMetric(float64(len(ds)*len(raw[0]))/add.fuse.Seconds()/1e9, "add-GB/s")
}

func encodeVector(b *testing.B, v []float32) []byte {
	out, err := checkpoint.Encode(&checkpoint.File{Tensors: []checkpoint.Tensor{checkpoint.NewF32("body.w", []int{len(v)}, v)}})
	if err != nil {
		b.Fatal(err)
	}
	return out
}
