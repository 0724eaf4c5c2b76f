package deltaenc

import (
	"runtime"
	"testing"
)

// Once the caller drops an inflated delta, the package holds on to
// nothing: a decoder kept between calls used to keep its state and its
// window's history alive for the next call (0.6 MB for a frame that
// declares its size, the size of the delta for one that does not).
func TestUnwrapRetainsNothing(t *testing.T) {
	frame, inner := benchDelta(t)
	for name, f := range map[string][]byte{"declared": frame, "streamed": streamFrame(t, inner)} {
		before := liveHeap()
		for range 3 {
			out, err := Unwrap(f, int64(len(inner))*2)
			if err != nil || len(out) != len(inner) {
				t.Fatalf("%s: %v, %d bytes of %d", name, err, len(out), len(inner))
			}
		}
		if grew := int64(liveHeap()) - int64(before); grew > 128<<10 {
			t.Errorf("%s: live heap grew by %d bytes after inflating a %d-byte delta and dropping it", name, grew, len(inner))
		}
	}
	runtime.KeepAlive(frame)
	runtime.KeepAlive(inner)
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
