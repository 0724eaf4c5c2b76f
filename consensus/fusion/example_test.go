package fusion_test

import (
	"bytes"
	"fmt"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/train/checkpoint"
)

func reader(vals ...float32) *checkpoint.Reader {
	b, _ := checkpoint.Encode(&checkpoint.File{Tensors: []checkpoint.Tensor{
		checkpoint.NewF32("body.w", []int{len(vals)}, vals),
		checkpoint.NewF32("head.w", []int{1}, []float32{42}),
	}})
	r, _ := checkpoint.Open(bytes.NewReader(b), int64(len(b)))
	return r
}

func ExampleFuse() {
	rule, _ := fusion.ParseRule("clip:10,median")
	base := reader(1, 1)
	deltas := []fusion.Input{
		{ID: "bafy-c", Delta: reader(0.5, -0.5)},
		{ID: "bafy-a", Delta: reader(0.25, 0.5)},
		{ID: "bafy-b", Delta: reader(300, 400)}, // norm 500: scaled to 6, 8
	}
	var out bytes.Buffer
	stats, err := fusion.Fuse(&out, base, deltas, rule)
	if err != nil {
		panic(err)
	}
	f, _ := checkpoint.Decode(out.Bytes())
	v, _ := f.Tensors[0].F32()
	fmt.Println(rule, stats.IDs, stats.Scales, len(f.Tensors), f.Tensors[0].Name, v)
	// Output: clip:10,median [bafy-a bafy-b bafy-c] [1 0.02 1] 1 body.w [1.5 1.5]
}
