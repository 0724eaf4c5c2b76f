package deltaenc_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/deltaenc"
)

// BenchmarkDeltaBytes measures each encoding on real deltas: a default
// bag, encoder and mlp body finetuned for one contributor round (2
// epochs, at most 2,000 examples, the lab's contributor setting) on a
// real task; it reports the encoded size as a fraction of the dense
// float32 file (x_dense) and the decoded delta's relative L2 error
// (rel_err). Run once:
//
//	go test ./train/deltaenc -run '^$' -bench DeltaBytes -benchtime 1x
func BenchmarkDeltaBytes(b *testing.B) {
	for _, c := range []struct{ arch, task string }{{"bag", "sst2"}, {"bag", "trec"}, {"encoder", "sst2"}, {"mlp", "digits"}} {
		delta := realDelta(b, c.arch, c.task)
		dense, err := checkpoint.Encode(delta)
		if err != nil {
			b.Fatal(err)
		}
		for _, name := range []string{"dense", "dense+zstd", "fp16", "bf16", "int8", "rows", "rows+fp16", "rows+bf16", "rows+int8",
			"rows+zstd", "rows+fp16+zstd", "rows+bf16+zstd", "rows+int8+zstd"} {
			e, _ := deltaenc.Parse(name)
			b.Run(fmt.Sprintf("%s/%s/%s", c.arch, c.task, name), func(b *testing.B) {
				var enc []byte
				for range b.N {
					if enc, err = deltaenc.Encode(delta, e); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(enc)), "bytes")
				b.ReportMetric(float64(len(enc))/float64(len(dense)), "x_dense")
				b.ReportMetric(relErr(b, delta, dense, enc), "rel_err")
			})
		}
	}
}

// realDelta finetunes a fresh default body of arch on the task.
func realDelta(b *testing.B, arch, task string) *checkpoint.File {
	return realDeltaOf(b, arch, task, 2, 2000)
}

// realDeltaOf finetunes a fresh body of arch on at most max examples of
// the task for the given epochs.
func realDeltaOf(b *testing.B, arch, task string, epochs, max int) *checkpoint.File {
	dir := filepath.Join("..", "..", "..", "shared", "datasets", task)
	if _, err := os.Stat(dir); err != nil {
		dir = filepath.Join("/work/shared/datasets", task)
	}
	t, err := data.Load(dir, data.DefaultOptions())
	if err != nil {
		b.Skipf("dataset %s: %v", task, err)
	}
	body, err := train.NewBody(arch, t, 1)
	if err != nil {
		b.Fatal(err)
	}
	opt := train.DefaultOptions()
	opt.Epochs, opt.Patience, opt.MaxTrain = epochs, 0, max
	res, err := train.Finetune(context.Background(), body, t, opt, nil)
	if err != nil {
		b.Fatal(err)
	}
	d, err := train.Delta(body, res.Body)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// relErr is ||decode(enc) - delta|| / ||delta|| over the body.
func relErr(b *testing.B, delta *checkpoint.File, dense, enc []byte) float64 {
	layout, err := checkpoint.OpenBytes(dense)
	if err != nil {
		b.Fatal(err)
	}
	r, err := deltaenc.Open(enc, deltaenc.Limit(layout))
	if err != nil {
		b.Fatal(err)
	}
	got, err := deltaenc.DecodeFile(r, layout)
	if err != nil {
		b.Fatal(err)
	}
	var num, den float64
	for _, t := range got.Tensors {
		want, _ := delta.Get(t.Name)
		x, _ := t.F32()
		y, _ := want.F32()
		for i := range x {
			d := float64(x[i]) - float64(y[i])
			num, den = num+d*d, den+float64(y[i])*float64(y[i])
		}
	}
	return math.Sqrt(num / den)
}
