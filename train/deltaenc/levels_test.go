package deltaenc_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/coldnode/coldnode/train/deltaenc"
)

// BenchmarkCompressLevels compresses the int8 bytes of a real delta of
// the 10M-parameter mlp of `coldnode bench round` (digits, one
// contributor round of the bench: 200 examples, one epoch) at the level Encode used before
// (SpeedBetterCompression) and the one it uses now (SpeedDefault with
// literal entropy coding in every block), in one run: size against the
// int8 bytes, and CPU per encode and per decode.
//
//	go test -run '^$' -bench CompressLevels -benchtime 20x ./train/deltaenc
func BenchmarkCompressLevels(b *testing.B) {
	e, _ := deltaenc.Parse("rows+int8")
	cfg := filepath.Join(b.TempDir(), "mlp10m.json")
	if err := os.WriteFile(cfg, []byte(mlp10M), 0o644); err != nil {
		b.Fatal(err)
	}
	inner, err := deltaenc.Encode(realDeltaOf(b, cfg, "digits", 1, 200), e)
	if err != nil {
		b.Fatal(err)
	}
	levels := map[string][]zstd.EOption{
		"better":      {zstd.WithEncoderLevel(zstd.SpeedBetterCompression)},
		"default+lit": {zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithAllLitEntropyCompression(true)},
	}
	for _, name := range []string{"better", "default+lit"} {
		enc, err := zstd.NewWriter(nil, append(levels[name], zstd.WithEncoderConcurrency(1))...)
		if err != nil {
			b.Fatal(err)
		}
		var frame []byte
		b.Run("encode-"+name, func(b *testing.B) {
			cpuLoop(b, len(inner), func() { frame = enc.EncodeAll(inner, nil) })
			b.ReportMetric(float64(len(frame))/float64(len(inner)), "x_int8")
		})
		b.Run("decode-"+name, func(b *testing.B) {
			cpuLoop(b, len(inner), func() {
				if out, err := deltaenc.Unwrap(frame, 1<<30); err != nil || len(out) != len(inner) {
					b.Fatalf("%v, %d bytes of %d", err, len(out), len(inner))
				}
			})
		})
		enc.Close()
	}
}

// mlp10M is the body of `coldnode bench round --model 10m`
// (node/swarmbench.MLP10M).
const mlp10M = `{"arch":"mlp","features":64,"input_scale":0.0625,"dim":1816,"hidden":1816,"layers":4,"classes":0}`

// cpuLoop runs f b.N times and reports the process's CPU time per call.
func cpuLoop(b *testing.B, n int, f func()) {
	b.SetBytes(int64(n))
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	for b.Loop() {
		f()
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
	b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/op")
}
