package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
	"github.com/klauspost/compress/zstd"
)

// BenchmarkArrival measures what a node spends on one arriving delta of
// `coldnode bench round --model 10m` (10.02 M values, rows+int8+zstd, as
// fetched) from its bytes to its place in the round's running sum: old
// is the path before the one-pass check (a new streaming zstd decoder,
// the norm check's pass, then the sum's add: decode, range check and
// quantize again), new is startCheck's path now (a shared decoder, then
// one pass that sums the norm while adding). Both run in one command, on
// the same bytes; cpu-ms/delta is the process's CPU time (getrusage) per
// delta, next to wall time.
//
// go test -run '^$' -bench Arrival -benchtime 20x ./node
func BenchmarkArrival(b *testing.B) {
	ctx := context.Background()
	st, base, deltas := roundFixture(b, 1, 1816)
	ref, err := openWeights(ctx, st, base, 1<<30)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := st.ReadFile(ctx, deltas[0], 1<<30)
	if err != nil {
		b.Fatal(err)
	}
	const bound = 1000
	b.Run("old", func(b *testing.B) {
		benchArrival(b, ref, func(sum *fusion.Sum) error {
			return arriveOld(ref, sum, deltas[0], raw, bound, streamUnwrap)
		})
	})
	b.Run("new", func(b *testing.B) {
		var buf []byte // addArrived's lent memory
		benchArrival(b, ref, func(sum *fusion.Sum) error {
			in, inner, ok := openArrived(ref, deltas[0], raw, buf)
			buf = inner
			if ok && addWithin(sum, in, bound) {
				return nil
			}
			return errors.New("not accepted in one pass")
		})
	})
}

// benchArrival runs arrive on a running sum, starting a new sum (off the
// clock) every 64 deltas.
func benchArrival(b *testing.B, ref *checkpoint.Reader, arrive func(*fusion.Sum) error) {
	var sum *fusion.Sum
	cpu, start := cpuTime(), time.Now()
	for b.Loop() {
		if sum == nil || sum.Len() == 64 {
			b.StopTimer()
			sum, _ = fusion.NewSum(ref, fusion.DefaultRule)
			b.StartTimer()
		}
		if err := arrive(sum); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/1e6/float64(b.N), "cpu-ms/delta")
	b.ReportMetric(float64(time.Since(start))/1e6/float64(b.N), "wall-ms/delta")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// streamUnwrap is deltaenc.Unwrap before its shared decoder: a new
// streaming decoder per frame, read to its end.
func streamUnwrap(b []byte, limit int64) ([]byte, error) {
	if !deltaenc.Compressed(b) {
		return deltaenc.Unwrap(b, limit)
	}
	dec, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(uint64(limit)), zstd.WithDecoderMaxWindow(uint64(min(limit, 1<<30))))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	out, err := io.ReadAll(io.LimitReader(dec, limit+1))
	if err != nil || int64(len(out)) > limit {
		return nil, errors.Join(err, errors.New("past the limit"))
	}
	return out, nil
}
