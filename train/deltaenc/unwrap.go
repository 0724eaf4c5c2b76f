package deltaenc

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Unwrap returns the safetensors bytes of a delta file: b itself, or the
// content of the zstd frame b holds. Either may be at most limit bytes.
// The frame is inflated in one call into a buffer sized from the frame's
// declared content size (itself refused past limit), by a decoder shared
// with other calls of the same limit: a node inflating a delta per peer
// reuses one decoder's tables and history instead of building each anew.
func Unwrap(b []byte, limit int64) ([]byte, error) { return UnwrapTo(nil, b, limit) }

// UnwrapTo is Unwrap inflating into dst's memory when it has room (a
// caller done with one delta's bytes can lend them to the next); a file
// that is not compressed is returned as it is, not copied.
func UnwrapTo(dst, b []byte, limit int64) ([]byte, error) {
	if !Compressed(b) {
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("%w: %d bytes, the layout allows at most %d", ErrEncoding, len(b), limit)
		}
		return b, nil
	}
	dec, err := decoders.get(limit)
	if err != nil {
		return nil, fmt.Errorf("%w: zstd: %v", ErrEncoding, err)
	}
	out, err := dec.DecodeAll(b, dst[:0])
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) || err == nil && int64(len(out)) > limit {
		return nil, fmt.Errorf("%w: zstd frame inflates past %d bytes, the most a delta of this layout can hold (decoded size capped)", ErrEncoding, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: zstd frame (decoded size capped at %d bytes by the layout): %v", ErrEncoding, limit, err)
	}
	return out, nil
}

// decoders holds one zstd decoder per decoded-size limit in use (a node
// has one layout, so one limit; tests may have a few). A decoder is safe
// for concurrent DecodeAll calls, one per processor at a time (more wait
// their turn; each holds its own block decoder); it
// starts no goroutine (it is never given a stream), so one dropped from
// the cache needs no Close.
var decoders = decoderCache{byLimit: map[int64]*zstd.Decoder{}}

// maxDecoderLimits bounds the cache: past it, the cache starts over.
const maxDecoderLimits = 8

type decoderCache struct {
	mu      sync.Mutex
	byLimit map[int64]*zstd.Decoder
}

// get returns the decoder for limit, making it on first use.
func (c *decoderCache) get(limit int64) (*zstd.Decoder, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.byLimit[limit]; d != nil {
		return d, nil
	}
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithDecoderMaxMemory(uint64(limit)), zstd.WithDecoderMaxWindow(uint64(min(limit, 1<<30))))
	if err != nil {
		return nil, err
	}
	if len(c.byLimit) >= maxDecoderLimits {
		clear(c.byLimit)
	}
	c.byLimit[limit] = d
	return d, nil
}
