package deltaenc

import (
	"fmt"
	"math"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/klauspost/compress/zstd"
)

// Encode writes a float32 delta in encoding e. Body tensors must be F32
// and finite; they are stored as e says. Head tensors are kept as they
// are (fusion ignores them). Dense gives exactly checkpoint.Encode(delta).
// The result is a function of the delta and e alone: every rounding is to
// nearest even in IEEE float32, so every processor writes the same bytes.
func Encode(delta *checkpoint.File, e Encoding) ([]byte, error) {
	if e.Values > Int8 {
		return nil, fmt.Errorf("%w: value type %d", ErrEncoding, e.Values)
	}
	b, err := encodeBytes(delta, e)
	if err != nil || !e.Zstd {
		return b, err
	}
	return compress(b)
}

// nonzeroRows lists the rows holding any nonzero bit (a -0 counts).
func nonzeroRows(v []float32, rows, cols int) []int {
	var kept []int
	for r := range rows {
		for _, x := range v[r*cols : (r+1)*cols] {
			if math.Float32bits(x) != 0 {
				kept = append(kept, r)
				break
			}
		}
	}
	return kept
}

func clone(s []int) []int { return append([]int{}, s...) }

// compress wraps b in one zstd frame. The encoder runs single-threaded at
// a fixed level, so the same input gives the same frame (the CID covers
// whatever frame was sent; decoding never depends on how it was made).
//
// A quantized delta has few long matches: what zstd saves is mostly the
// entropy coding of its literals, which the default level skips for
// blocks without matches unless told not to. With that on, the default
// level gives frames 0.6% larger than SpeedBetterCompression in 55% of
// its CPU time (a real delta of the bench's 10M-parameter mlp: 0.773 vs
// 0.769 of the int8 bytes, 49 vs 90 cpu-ms; BenchmarkCompressLevels).
func compress(b []byte) ([]byte, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithAllLitEntropyCompression(true))
	if err != nil {
		return nil, fmt.Errorf("deltaenc: zstd: %w", err)
	}
	defer enc.Close()
	// Room for the whole input: a quantized delta compresses to ~0.77 of
	// it, and growing from less copied the frame twice, the old and new
	// buffers alive at once (210 MiB for a 120 MiB file).
	return enc.EncodeAll(b, make([]byte, 0, len(b))), nil
}
