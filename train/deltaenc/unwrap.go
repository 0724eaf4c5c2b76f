package deltaenc

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// Unwrap returns the safetensors bytes of a delta file: b itself, or the
// content of the zstd frame b holds. Either may be at most limit bytes.
// The frame is inflated in one call into a buffer sized from the frame's
// declared content size (itself refused past limit).
func Unwrap(b []byte, limit int64) ([]byte, error) { return UnwrapTo(nil, b, limit) }

// UnwrapTo is Unwrap inflating into dst's memory when it has room (a
// caller done with one delta's bytes can lend them to the next); a file
// that is not compressed is returned as it is, not copied.
//
// Each call has its own decoder, closed before it returns: a zstd.Decoder
// kept between calls holds on to the last output it wrote (its history
// points into it), which kept a whole inflated delta alive per decoder
// after its caller had dropped it. A new decoder costs ~0.3 MB and no
// measurable time against the inflation (BenchmarkUnwrap).
func UnwrapTo(dst, b []byte, limit int64) ([]byte, error) {
	if !Compressed(b) {
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("%w: %d bytes, the layout allows at most %d", ErrEncoding, len(b), limit)
		}
		return b, nil
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(uint64(limit)), zstd.WithDecoderMaxWindow(uint64(min(limit, 1<<30))))
	if err != nil {
		return nil, fmt.Errorf("%w: zstd: %v", ErrEncoding, err)
	}
	defer dec.Close()
	out, err := dec.DecodeAll(b, dst[:0])
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) || err == nil && int64(len(out)) > limit {
		return nil, fmt.Errorf("%w: zstd frame inflates past %d bytes, the most a delta of this layout can hold (decoded size capped)", ErrEncoding, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: zstd frame (decoded size capped at %d bytes by the layout): %v", ErrEncoding, limit, err)
	}
	return out, nil
}
