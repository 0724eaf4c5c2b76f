package node

import (
	"bytes"
	"context"
	"fmt"
	"github.com/coldnode/coldnode/consensus/fusion"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/coldnode/coldnode/consensus"
	"github.com/coldnode/coldnode/p2p"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
	"github.com/ipfs/go-cid"
	"github.com/klauspost/compress/zstd"
)

// streamRef is a layout of rows x cols body values, a vector and a head.
func streamRef(t testing.TB, rows, cols int) *checkpoint.Reader {
	t.Helper()
	r, err := checkpoint.OpenBytes(streamRefFile(t, rows, cols))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// streamRefFile is the safetensors file of streamRef's layout, all zeros.
func streamRefFile(t testing.TB, rows, cols int) []byte {
	t.Helper()
	b, err := checkpoint.Encode(&checkpoint.File{Tensors: []checkpoint.Tensor{
		checkpoint.NewF32("body.a", []int{rows, cols}, make([]float32, rows*cols)),
		checkpoint.NewF32("body.b", []int{7}, make([]float32, 7)), checkpoint.NewF32("head.w", []int{3}, make([]float32, 3))}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// streamDelta is a random delta of streamRef's body, encoded as enc, with
// edit applied to body.a's values first.
func streamDelta(t testing.TB, seed uint64, rows, cols int, enc string, edit func([]float32)) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	a, b := make([]float32, rows*cols), make([]float32, 7)
	for i := range a {
		a[i] = float32(0.01 * rng.NormFloat64())
	}
	for i := range b {
		b[i] = float32(0.01 * rng.NormFloat64())
	}
	if edit != nil {
		edit(a)
	}
	f := &checkpoint.File{Tensors: []checkpoint.Tensor{checkpoint.NewF32("body.a", []int{rows, cols}, a), checkpoint.NewF32("body.b", []int{7}, b)}}
	e, err := deltaenc.Parse(enc)
	if err != nil {
		t.Fatal(err)
	}
	out, err := deltaenc.Encode(f, e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// smallWindow wraps b in a zstd frame with a 64 KiB window: a frame of a
// few hundred KiB that deltaenc.StreamAt inflates as a stream, as it does
// Encode's frames (8 MiB window) of a delta over 16 MiB compressed.
func smallWindow(t testing.TB, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

// streamStore is a real block store in a temporary directory.
func streamStore(t testing.TB) store {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	blocks, err := p2p.OpenBlocks(t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blocks.Close() })
	return store{blocks: blocks, metrics: NewMetrics(), timeout: time.Minute, log: log}
}

// checkRuntime is what startCheck uses of a runtime under the mean rule:
// the store, check slots, the genesis layout and a running sum.
func checkRuntime(t testing.TB, st store, ref *checkpoint.Reader) *runtime {
	n := &Node{log: slog.New(slog.NewTextHandler(io.Discard, nil)), cfg: DefaultConfig()}
	return &runtime{n: n, store: st, checks: checkSlots(), gref: genesisRef{r: ref}, sums: startSums(t, sumsFixture{base: ref})}
}

// checkOld is startCheck's judgement before the stream: the stored file
// read whole, then judged.
func checkOld(t testing.TB, rt *runtime, ck consensus.Check) consensus.Message {
	t.Helper()
	b, err := rt.store.ReadFile(context.Background(), ck.Delta, ck.MaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	return rt.judge(context.Background(), ck, arrived{b: b})
}

// checkNow is startCheck's judgement now; streamed reports whether the
// delta was inflated as a stream.
func checkNow(t testing.TB, rt *runtime, ck consensus.Check) (msg consensus.Message, streamed bool) {
	t.Helper()
	a, release, err := rt.fetchForCheck(context.Background(), ck)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	return rt.judge(context.Background(), ck, a), a.buf != nil
}

// verdict is a check's message as text: the contribution, whether it was
// unavailable, the error's text.
func verdict(m consensus.Message) string {
	c, ok := m.(consensus.Checked)
	if !ok {
		return fmt.Sprintf("%T %v", m, m)
	}
	return fmt.Sprintf("%s %v %v", c.Contribution, c.Unavailable, c.Err)
}

// noise is n random bytes: a file zstd hardly shrinks.
func noise(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 13))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// streamArrivals are deltas of streamRef(rows, 300) for every verdict,
// framed so that the check streams them, and frames it leaves to the
// whole file's check. stream says which.
func streamArrivals(t *testing.T, rows int) []struct {
	arrival
	stream bool
} {
	const cols = 300
	good := streamDelta(t, 1, rows, cols, "rows+int8", nil)
	ref := streamRef(t, rows, cols)
	norm := seqNorm(t, ref, good)
	framed := smallWindow(t, good)
	nanData := noise(2*rows*cols, 6)
	for i := 1; i < len(nanData); i += 2 {
		nanData[i] = nanData[i]&0x83 | 0x20 // finite values of magnitude < 2^-6
	}
	nanData[len(nanData)-2], nanData[len(nanData)-1] = 0, 0x7e // the last value a NaN
	nan, err := checkpoint.Encode(&checkpoint.File{Meta: map[string]string{deltaenc.MetaKey: "fp16"}, Tensors: []checkpoint.Tensor{
		{Name: "body.a", DType: checkpoint.F16, Shape: []int{rows, cols}, Data: nanData},
		{Name: "body.b", DType: checkpoint.F16, Shape: []int{7}, Data: make([]byte, 14)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	small := make([]float32, rows*cols)
	for i := range small {
		small[i] = float32(0.01 * rng.NormFloat64())
	}
	dense, err := checkpoint.Encode(&checkpoint.File{Tensors: []checkpoint.Tensor{
		checkpoint.NewF32("body.a", []int{rows, cols}, small), checkpoint.NewF32("body.b", []int{7}, make([]float32, 7))}})
	if err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(framed)
	corrupt[len(corrupt)/2] ^= 0xff
	skip := append(bytes.Clone(framed), 0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3) // a skippable frame
	type tc = struct {
		arrival
		stream bool
	}
	return []tc{
		{arrival{"accepted", framed, 2 * norm}, true},
		{arrival{"no bound", framed, 0}, true},
		{arrival{"at the bound", framed, norm}, true},
		{arrival{"just over the bound", framed, math.Nextafter(norm, 0)}, true},
		{arrival{"far over the bound", framed, norm / 2}, true},
		{arrival{"out of range", smallWindow(t, streamDelta(t, 2, rows, cols, "rows+int8", func(a []float32) { a[65] = 5000 })), 1e9}, true},
		{arrival{"non-finite", smallWindow(t, nan), 0}, true},
		{arrival{"wrong shape", smallWindow(t, streamDelta(t, 3, cols, rows, "int8", nil)), 0}, true},
		{arrival{"not canonical", smallWindow(t, append(bytes.Clone(good), ' ')), 0}, true},
		{arrival{"nested frame", smallWindow(t, framed), 0}, true},
		{arrival{"plain float32", smallWindow(t, dense), 0}, true},
		{arrival{"skippable frame after", skip, 2 * norm}, true},
		{arrival{"corrupt frame", corrupt, 0}, false},
		{arrival{"truncated frame", framed[:len(framed)-100], 0}, false},
		{arrival{"data after the frame", append(bytes.Clone(framed), 1, 2, 3, 4, 5), 0}, false},
		{arrival{"two frames", append(bytes.Clone(framed), framed...), 0}, false},
		{arrival{"bomb", smallWindow(t, make([]byte, 2*deltaenc.Limit(ref))), 0}, false},
		{arrival{"small frame", streamDelta(t, 4, rows, cols, "rows+int8+zstd", nil), 2 * norm}, false},
		{arrival{"not compressed", good, 2 * norm}, false},
	}
}

// A delta the check inflates as a stream gets the verdict, and the error
// text, that the check of the whole file gives; so do the frames it
// leaves to that check. The old path runs on a runtime of its own (its
// own running sum), the same deltas in the same order.
func TestCheckStreamMatchesWholeCheck(t *testing.T) {
	defer func(n int64) { streamChecksOver = n }(streamChecksOver)
	streamChecksOver = 0 // the frames are a few hundred KiB
	const rows = 1000
	ref := streamRef(t, rows, 300)
	st := streamStore(t)
	old, now := checkRuntime(t, st, ref), checkRuntime(t, st, ref)
	base := cid.NewCidV1(cid.Raw, mustHash(t, "base"))
	accepted := 0
	var last cid.Cid // a streamed delta
	for _, a := range streamArrivals(t, rows) {
		c, err := st.ImportBytes(context.Background(), a.b)
		if err != nil {
			t.Fatal(err)
		}
		if a.stream {
			last = c
		}
		ck := consensus.Check{Contribution: c, Delta: c, Base: base, Round: 3, NormBound: a.bound, MaxBytes: 1 << 30}
		want := checkOld(t, old, ck)
		got, streamed := checkNow(t, now, ck)
		if streamed != a.stream {
			t.Errorf("%s: streamed %v, want %v", a.name, streamed, a.stream)
		}
		if verdict(got) != verdict(want) {
			t.Errorf("%s: verdict %v, the whole file's check gave %v", a.name, got, want)
		}
		if w, ok := want.(consensus.Checked); ok && w.Err == nil {
			accepted++
		}
	}
	// accepted, no bound, at the bound, plain float32, the skippable
	// frame, the small frame and the plain file.
	if accepted != 7 {
		t.Fatalf("%d accepted, want 7", accepted)
	}
	// At the size a node streams from, the same file is read whole.
	streamChecksOver = 16 << 20
	ck := consensus.Check{Contribution: last, Delta: last, Base: base, Round: 3, MaxBytes: 1 << 30}
	if _, streamed := checkNow(t, now, ck); streamed {
		t.Fatal("a frame of a few hundred KiB was streamed")
	}
}

// The check of a large delta inflated as a stream does not hold the
// compressed file: while the delta is being added to the running sum,
// the check holds less than the inflated file and half the compressed
// one, where the whole file's check holds both (the bound fails for it;
// the test checks that too). The delta is one Encode writes
// (rows+int8+zstd, 8 MiB window) of 24.6 M values, 22 MB compressed. The
// heap is read, after a collection, by the running sum's keeper when it
// reads the genesis layout to start the round's sum: the check is then
// waiting for the keeper, holding what it holds while the keeper adds.
func TestCheckStreamHoldsNoCompressedCopy(t *testing.T) {
	const rows, cols = 6000, 4096
	ref := layoutOnly(t, rows, cols)
	st := streamStore(t)
	b := streamDelta(t, 5, rows, cols, "rows+int8+zstd", nil)
	c, err := st.ImportBytes(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := deltaenc.Unwrap(b, deltaenc.Limit(ref))
	if err != nil {
		t.Fatal(err)
	}
	size, inflated := uint64(len(b)), uint64(len(inner))
	ck := consensus.Check{Contribution: c, Delta: c, Base: cid.NewCidV1(cid.Raw, mustHash(t, "base")), Round: 3,
		NormBound: 2 * seqNorm(t, ref, b), MaxBytes: 1 << 30}
	b, inner = nil, nil
	held := func(check func(*runtime) consensus.Message) uint64 {
		var before, during uint64
		rt := checkRuntime(t, st, ref)
		rt.sums = startSumsWith(t, func(context.Context) (*checkpoint.Reader, error) {
			during = heapAfterGC()
			return ref, nil
		})
		before = heapAfterGC()
		if msg := check(rt); verdict(msg) != verdict(consensus.Checked{Contribution: c}) {
			t.Fatalf("not accepted: %v", msg)
		}
		if during < before {
			return 0
		}
		return during - before
	}
	var streamed bool
	now := held(func(rt *runtime) (m consensus.Message) {
		m, streamed = checkNow(t, rt, ck)
		return m
	})
	old := held(func(rt *runtime) consensus.Message { return checkOld(t, rt, ck) })
	t.Logf("%d bytes compressed, %d inflated: the check holds %d, the whole file's check %d", size, inflated, now, old)
	if !streamed {
		t.Fatal("a 22 MB frame with an 8 MiB window was not streamed")
	}
	if bound := inflated + size/2; now >= bound || old < bound {
		t.Fatalf("the check held %d bytes, the whole file's check %d: want the first under %d (inflated + half the compressed), the second not",
			now, old, bound)
	}
}

// startSumsWith is startSums with the genesis layout read by layout.
func startSumsWith(t testing.TB, layout func(context.Context) (*checkpoint.Reader, error)) *sums {
	s := newSums(fusion.DefaultRule, layout)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s
}

// heapAfterGC is the heap's live bytes: memory lent by sync.Pool is
// dropped by the second collection.
func heapAfterGC() uint64 {
	var m goruntime.MemStats
	goruntime.GC()
	goruntime.GC()
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}

// layoutOnly is streamRef's layout read from its header alone, as the
// genesis layout is (genesisLayout): it holds no values.
func layoutOnly(t testing.TB, rows, cols int) *checkpoint.Reader {
	b := streamRefFile(t, rows, cols)
	r, err := layoutAt(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// BenchmarkCheckStream measures the check of one arriving delta of 24.6 M
// values (rows+int8+zstd as Encode writes it, 22 MB compressed, 8 MiB
// window) from the stored file to its place in the running sum: whole
// reads the file whole and inflates it in one call (the path before the
// stream, and the path for every file of 16 MiB or less), stream inflates
// it from the store as a stream. Both run in one command, on the same
// file; cpu-ms/delta is the process's CPU time (getrusage) per check.
//
// go test -run '^$' -bench CheckStream -benchtime 10x ./node
func BenchmarkCheckStream(b *testing.B) {
	const rows, cols = 6000, 4096
	ref := layoutOnly(b, rows, cols)
	st := streamStore(b)
	d := streamDelta(b, 5, rows, cols, "rows+int8+zstd", nil)
	c, err := st.ImportBytes(context.Background(), d)
	if err != nil {
		b.Fatal(err)
	}
	inner, err := deltaenc.Unwrap(d, deltaenc.Limit(ref))
	if err != nil {
		b.Fatal(err)
	}
	r, err := checkpoint.OpenBytes(inner)
	if err != nil {
		b.Fatal(err)
	}
	var norm normSum
	if err := deltaenc.Spans(r, ref, make([]float32, 1<<16), norm.add); err != nil {
		b.Fatal(err)
	}
	d, inner, r = nil, nil, nil
	// The base is only the running sum's name for the round.
	ck := consensus.Check{Contribution: c, Delta: c, Base: c, Round: 3, NormBound: 2 * math.Sqrt(norm.total()), MaxBytes: 1 << 30}
	for _, path := range []string{"whole", "stream"} {
		b.Run(path, func(b *testing.B) {
			rt := checkRuntime(b, st, ref)
			cpu, start := cpuTime(), time.Now()
			for b.Loop() {
				var m consensus.Message
				streamed := false
				if path == "whole" {
					m = checkOld(b, rt, ck)
				} else {
					m, streamed = checkNow(b, rt, ck)
				}
				if streamed != (path == "stream") || verdict(m) != verdict(consensus.Checked{Contribution: c}) {
					b.Fatalf("streamed %v, verdict %v", streamed, m)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/1e6/float64(b.N), "cpu-ms/delta")
			b.ReportMetric(float64(time.Since(start))/1e6/float64(b.N), "wall-ms/delta")
		})
	}
}
