package fusion

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
)

// Encoded deltas (train/deltaenc, issue 8): fusion reads them decoded to
// float32, so a fused base is bit-identical to fusing the decoded float32
// files, whatever mix of encodings the inputs use, on every processor.

// encodedRules are goldenRules with clip bounds between the norms of the
// sparser encoded deltas (0.047 to 0.19).
var encodedRules = []string{"mean", "weighted", "median", "trimmed:0.2", "clip:0.1,mean",
	"clip:0.1,weighted", "clip:0.08,median", "clip:0.12,trimmed:0.25"}

var mixEncodings = []string{"rows+int8+zstd", "fp16", "bf16+zstd", "int8", "rows", "rows+fp16", "dense+zstd", "rows+bf16"}

// encodedInputs encodes delta k of the golden inputs in mixEncodings[k],
// with most rows of the embedding zeroed first (untouched rows), and
// returns the encoded inputs and the same deltas decoded to float32.
func encodedInputs(t testing.TB, base *checkpoint.Reader, plain []Input) (enc, dec []Input, inner [][]byte) {
	t.Helper()
	for k, in := range plain {
		f := sparseEmbed(t, in.Delta, k)
		e, err := deltaenc.Parse(mixEncodings[k%len(mixEncodings)])
		if err != nil {
			t.Fatal(err)
		}
		b, err := deltaenc.Encode(f, e)
		if err != nil {
			t.Fatal(err)
		}
		r, err := OpenDelta(b, base)
		if err != nil {
			t.Fatal(err)
		}
		ib, _ := deltaenc.Unwrap(b, deltaenc.Limit(base))
		inner = append(inner, ib)
		df, err := deltaenc.DecodeFile(r, base)
		if err != nil {
			t.Fatal(err)
		}
		df.Meta = f.Meta
		id := fmt.Sprintf("%s-%s", in.ID, e)
		enc = append(enc, Input{ID: id, Delta: r})
		dec = append(dec, Input{ID: id, Delta: open(t, df)})
	}
	return enc, dec, inner
}

// sparseEmbed reads a delta and zeroes the rows of body.emb a contributor
// would not have touched (two in three).
func sparseEmbed(t testing.TB, r *checkpoint.Reader, k int) *checkpoint.File {
	t.Helper()
	f := &checkpoint.File{Meta: r.Meta}
	for _, name := range r.Names() {
		tn, err := r.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "body.emb" {
			v, _ := tn.F32()
			cols := tn.Shape[1]
			for row := range tn.Shape[0] {
				if (row*7+k)%3 != 0 {
					clear(v[row*cols : (row+1)*cols])
				}
			}
			tn = checkpoint.NewF32(name, tn.Shape, v)
		}
		f.Tensors = append(f.Tensors, tn)
	}
	return f
}

// TestEncodedGolden fuses the golden inputs, encoded in a mix of
// encodings, under every golden rule: the output equals the fusion of the
// decoded float32 deltas, and the sha256 of each encoded delta and each
// fused output are those in testdata/golden/encoded.txt, recorded on
// amd64 (.ci/fusion-arm64.sh checks them on arm64).
func TestEncodedGolden(t *testing.T) {
	base, plain := readGoldenInputs(t)
	enc, dec, inner := encodedInputs(t, base, plain)
	var lines []string
	for k, b := range inner {
		sum := sha256.Sum256(b)
		lines = append(lines, fmt.Sprintf("delta-%d %s %s", k, mixEncodings[k%len(mixEncodings)], hex.EncodeToString(sum[:])))
	}
	for _, rs := range encodedRules {
		rule := mustRule(t, rs)
		got := fuseBytes(t, base, enc, rule, 2)
		if rule.Clip > 0 {
			checkSomeClipped(t, base, enc, rule)
		}
		if want := fuseBytes(t, base, dec, rule, 1); !bytes.Equal(got, want) {
			t.Fatalf("%s: fusing encoded deltas differs from fusing them decoded", rs)
		}
		sum := sha256.Sum256(got)
		lines = append(lines, rs+" "+hex.EncodeToString(sum[:]))
	}
	path := filepath.Join(goldenDir, "encoded.txt")
	if *update {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := readLines(t, path); strings.Join(want, "\n") != strings.Join(lines, "\n") {
		t.Fatalf("sha256 differ from %s:\ngot:\n%s\nwant:\n%s", path, strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// Stored rows straddle span and goroutine boundaries: an embedding of
// rows of 70 values, fused in spans of 1000 on three workers and in whole
// spans on one, gives the decoded fusion's bytes.
func TestEncodedSpansAndWorkers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	gen := func(scale float64, touched func(int) bool) *checkpoint.File {
		v := make([]float32, 5000*70)
		for i := range v {
			if touched(i / 70) {
				v[i] = float32(scale * rng.NormFloat64())
			}
		}
		return &checkpoint.File{Tensors: []checkpoint.Tensor{checkpoint.NewF32("body.emb", []int{5000, 70}, v)}}
	}
	base := open(t, gen(1, func(int) bool { return true }))
	var enc, dec []Input
	for k, s := range []string{"rows+int8", "rows+fp16+zstd", "rows", "rows+bf16", "int8", "fp16"} {
		e, _ := deltaenc.Parse(s)
		b, err := deltaenc.Encode(gen(0.01, func(r int) bool { return (r+k)%(k+2) == 0 }), e)
		if err != nil {
			t.Fatal(err)
		}
		r, err := OpenDelta(b, base)
		if err != nil {
			t.Fatal(err)
		}
		df, err := deltaenc.DecodeFile(r, base)
		if err != nil {
			t.Fatal(err)
		}
		enc, dec = append(enc, Input{ID: s, Delta: r}), append(dec, Input{ID: s, Delta: open(t, df)})
	}
	for _, rs := range []string{"mean", "clip:1,median"} {
		want := fuseBytes(t, base, dec, mustRule(t, rs), 1)
		for _, split := range []struct{ workers, span int }{{1, spanElems}, {3, 1000}, {2, 4}} {
			var buf bytes.Buffer
			if _, err := fuseSpans(&buf, base, enc, mustRule(t, rs), split.workers, split.span); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("%s with %d workers, span %d: differs from the decoded fusion", rs, split.workers, split.span)
			}
		}
	}
}
