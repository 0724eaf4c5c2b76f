package deltaenc

import (
	"errors"
	"io"

	"github.com/klauspost/compress/zstd"
)

// streamWindow is the largest zstd window UnwrapAt inflates as a stream;
// frames with a larger one (or none: a single-segment frame's window is
// its whole content) are read whole and inflated by UnwrapTo. The frames
// Encode writes for deltas over 8 MiB have an 8 MiB window.
const streamWindow = 16 << 20

// UnwrapAt is Unwrap for a file read in place (size bytes of src), without
// holding the compressed bytes whole: a frame that declares its content
// size and a window of at most streamWindow, and is more than twice as
// large as its window (smaller ones would save nothing: the stream keeps
// the window), is inflated as a stream straight into a buffer of that
// size; it costs ~1.5x the CPU of inflating in one call. Anything else, and any frame the
// stream cannot decode cleanly, goes through UnwrapTo on the whole file,
// so the result and every error are UnwrapTo's.
func UnwrapAt(src io.ReaderAt, size, limit int64) ([]byte, error) {
	h, ok, err := streamHeader(src, size, limit)
	if err != nil {
		return nil, err
	}
	if ok {
		if out, ok := inflateStream(io.NewSectionReader(src, 0, size), nil, h.FrameContentSize, limit); ok {
			return out, nil
		}
	}
	return unwrapWhole(src, size, limit)
}

// StreamAt is UnwrapAt's stream alone, inflating into dst's memory when
// it has room (as UnwrapTo does): for a file UnwrapAt would inflate as a
// stream, and that inflates cleanly, it returns the bytes UnwrapTo gives
// for the whole file. For any other file, or a frame the stream cannot
// decode cleanly (corrupt, cut short, followed by other data), ok is
// false, and the caller's answer is UnwrapTo's on the whole file. Only
// the frame's header is read before the stream, so a file not streamed
// costs one small read.
func StreamAt(dst []byte, src io.ReaderAt, size, limit int64) ([]byte, bool) {
	h, ok, err := streamHeader(src, size, limit)
	if err != nil || !ok {
		return nil, false
	}
	return inflateStream(io.NewSectionReader(src, 0, size), dst, h.FrameContentSize, limit)
}

// streamHeader reads the zstd frame header at the start of the size bytes
// of src; ok reports whether the frame is one to inflate as a stream.
func streamHeader(src io.ReaderAt, size, limit int64) (h zstd.Header, ok bool, err error) {
	var head [zstd.HeaderMaxSize]byte
	n, err := src.ReadAt(head[:min(int64(len(head)), size)], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return h, false, err
	}
	if !Compressed(head[:n]) || h.Decode(head[:n]) != nil {
		return h, false, nil
	}
	return h, streamable(h, size, limit), nil
}

// streamable reports whether a frame of size bytes with header h inflates
// within limit as a stream with a bounded window smaller than half of it.
func streamable(h zstd.Header, size, limit int64) bool {
	return h.HasFCS && !h.SingleSegment && h.FrameContentSize <= uint64(limit) &&
		h.WindowSize > 0 && h.WindowSize <= streamWindow && uint64(size) > 2*h.WindowSize
}

// inflateStream decodes exactly one frame of want bytes from r, into
// dst's memory if it has room; ok is false when r holds anything else.
func inflateStream(r io.Reader, dst []byte, want uint64, limit int64) ([]byte, bool) {
	dec, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(uint64(limit)), zstd.WithDecoderMaxWindow(streamWindow))
	if err != nil {
		return nil, false
	}
	defer dec.Close()
	out := dst[:0]
	if uint64(cap(out)) < want {
		out = make([]byte, want)
	}
	out = out[:want]
	if _, err := io.ReadFull(dec, out); err != nil {
		return nil, false
	}
	var more [1]byte
	if n, err := dec.Read(more[:]); n != 0 || !errors.Is(err, io.EOF) {
		return nil, false
	}
	return out, true
}

// unwrapWhole reads the whole file and unwraps it as UnwrapTo does.
func unwrapWhole(src io.ReaderAt, size, limit int64) ([]byte, error) {
	b := make([]byte, size)
	if _, err := src.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return UnwrapTo(nil, b, limit)
}
