package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/p2p"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
	"github.com/ipfs/go-cid"
)

// BenchmarkRoundWork measures, on a real on-disk block store, the work a
// node does for one round of `coldnode bench round --model 10m` after the
// last contribution is announced, against copy() of the body in the same
// run: reading one arrived delta back from the store (through Export as
// before, into new memory with ReadInto, and into lent memory as a check
// does), checking it (rows+int8+zstd, as
// sent), and the
// round's fusion of 16 deltas, either from the running sum (the deltas
// added as their checks passed) or by fusion.Fuse from the stored files.
//
// go test -run '^$' -bench RoundWork -benchtime 5x ./node
func BenchmarkRoundWork(b *testing.B) {
	ctx := context.Background()
	st, base, deltas := roundFixture(b, 16, 1816)
	ref, err := openWeights(ctx, st, base, 1<<30)
	if err != nil {
		b.Fatal(err)
	}
	body := bodyBytes(ref)
	b.Run("check-one", func(b *testing.B) {
		raw, err := st.ReadFile(ctx, deltas[0], 1<<30)
		if err != nil {
			b.Fatal(err)
		}
		sum, _ := fusion.NewSum(ref, fusion.DefaultRule)
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			inner, err := checkEncodedDelta(ref, raw, 1000)
			if err != nil {
				b.Fatal(err)
			}
			r, _ := fusion.OpenDelta(inner, ref)
			in := fusion.Input{ID: deltas[0].String(), Delta: r}
			if err := sum.Add(in); err != nil {
				b.Fatal(err)
			}
			if err := sum.Remove(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read-delta-export", func(b *testing.B) { // readLocal before ReadInto
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			var buf bytes.Buffer
			buf.Grow(8 << 20)
			if err := st.blocks.Export(ctx, deltas[0], &buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read-delta-new", func(b *testing.B) {
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			if _, err := st.readLocal(ctx, deltas[0], 0, 1<<30); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read-delta-into", func(b *testing.B) {
		buf := new([]byte)
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			if _, err := st.readLocalInto(ctx, deltas[0], 0, 1<<30, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	job := fuseJob{Round: 1, Base: base, Rule: "mean"}
	for _, d := range deltas {
		job.Deltas = append(job.Deltas, fuseInput{Delta: d})
	}
	b.Run("fuse-from-sum", func(b *testing.B) { benchFusion(b, st, job, runningSum(b, st, ref, base, deltas)) })
	b.Run("fuse-from-sum-new-file", func(b *testing.B) {
		benchFusionNew(b, st, job, runningSum(b, st, ref, base, deltas), append([]cid.Cid{base}, deltas...))
	})
	b.Run("fuse-from-files", func(b *testing.B) { benchFusion(b, st, job, nil) })
	b.Run("copy-body", func(b *testing.B) {
		src, dst := make([]byte, body), make([]byte, body)
		b.SetBytes(body)
		for b.Loop() {
			copy(dst, src)
		}
	})
}

func benchFusion(b *testing.B, st store, job fuseJob, s *sums) {
	ctx := context.Background()
	var want cid.Cid
	defer reportCPU(b, cpuTime())
	for b.Loop() {
		done, err := runFusion(ctx, st, job, 1<<30, s, nil)
		if err != nil {
			b.Fatal(err)
		}
		if want.Defined() && !done.Fused.Equals(want) {
			b.Fatalf("fused %s, then %s", want, done.Fused)
		}
		want = done.Fused
	}
}

// benchFusionNew is benchFusion with the fused file collected (untimed,
// and its CPU not counted) after each op, so that every op stores it anew
// as a node's fusion does: after benchFusion's first op the file is
// stored already and its blocks are not written again.
func benchFusionNew(b *testing.B, st store, job fuseJob, s *sums, keep []cid.Cid) {
	ctx := context.Background()
	for _, c := range keep {
		if err := st.blocks.Pin(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	var cpu time.Duration
	for b.Loop() {
		cpu0 := cpuTime()
		done, err := runFusion(ctx, st, job, 1<<30, s, nil)
		cpu += cpuTime() - cpu0
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		gs, err := st.blocks.GC(ctx)
		if err != nil || gs.Removed == 0 {
			b.Fatalf("collect the fused file %s: %+v %v", done.Fused, gs, err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/op")
}

// reportCPU reports the process's CPU time per op since cpu0 (all
// goroutines: a fusion pipes its output to the store's import).
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
}

// runningSum starts a keeper holding the deltas, as after their checks.
func runningSum(b *testing.B, st store, ref *checkpoint.Reader, base cid.Cid, deltas []cid.Cid) *sums {
	ctx := context.Background()
	s := startSums(b, sumsFixture{base: ref})
	for _, d := range deltas {
		r, err := openDelta(ctx, st, d, 1<<30, ref)
		if err != nil {
			b.Fatal(err)
		}
		if ok, err := s.add(ctx, base, 1, fusion.Input{ID: d.String(), Delta: r}); !ok || err != nil {
			b.Fatalf("add: %v %v", ok, err)
		}
	}
	return s
}

// roundFixture stores an mlp body (width 1816: the 10M-parameter body of
// swarmbench.MLP10M) and n dense random deltas encoded rows+int8+zstd.
func roundFixture(b testing.TB, n, width int) (store, cid.Cid, []cid.Cid) {
	blocks, err := p2p.OpenBlocks(b.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { blocks.Close() })
	st := store{blocks: blocks, metrics: NewMetrics(), timeout: time.Minute, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	rng := rand.New(rand.NewPCG(5, 5))
	base := importFile(b, st, mlp(rng, 0.05, width), "")
	enc, _ := deltaenc.Parse("rows+int8+zstd")
	var deltas []cid.Cid
	for range n {
		deltas = append(deltas, importFile(b, st, mlp(rng, 1e-3, width), enc.String()))
	}
	return st, base, deltas
}

// mlp is a body of 64 x width and three width x width layers (width 1816:
// 10.02 M values).
func mlp(rng *rand.Rand, scale float64, width int) *checkpoint.File {
	f := &checkpoint.File{}
	shapes := [][]int{{64, width}, {width, width}, {width, width}, {width, width}}
	for i, s := range shapes {
		v := make([]float32, s[0]*s[1])
		for j := range v {
			v[j] = float32(scale * rng.NormFloat64())
		}
		f.Tensors = append(f.Tensors, checkpoint.NewF32(fmt.Sprintf("body.l%d.w", i), s, v))
	}
	return f
}

func importFile(b testing.TB, st store, f *checkpoint.File, encoding string) cid.Cid {
	var data []byte
	var err error
	if encoding == "" {
		data, err = checkpoint.Encode(f)
	} else {
		e, _ := deltaenc.Parse(encoding)
		data, err = deltaenc.Encode(f, e)
	}
	if err != nil {
		b.Fatal(err)
	}
	c, err := st.ImportBytes(context.Background(), data)
	if err != nil {
		b.Fatal(err)
	}
	return c
}
