package deltaenc

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// skewed is n bytes of int8-like values, as a quantized delta's are.
func skewed(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(int8(max(-127, min(127, rng.NormFloat64()*20))))
	}
	return b
}

// UnwrapAt gives UnwrapTo's bytes or UnwrapTo's error for every kind of
// file: a frame it inflates as a stream, frames it leaves to UnwrapTo
// (single segment, over the limit, corrupt, cut short) and a file that is
// not compressed.
func TestUnwrapAtMatchesUnwrapTo(t *testing.T) {
	big, err := compress(skewed(24<<20, 1))
	if err != nil {
		t.Fatal(err)
	}
	var h zstd.Header
	if err := h.Decode(big); err != nil || !streamable(h, int64(len(big)), 1<<30) {
		t.Fatalf("a 24 MiB frame is not streamable (%+v, %v): the test needs one", h, err)
	}
	small, _ := compress(skewed(100<<10, 2))
	mid, _ := compress(skewed(10<<20, 5))
	corrupt := bytes.Clone(big)
	corrupt[len(corrupt)/2] ^= 0xff
	for name, tc := range map[string]struct {
		b     []byte
		limit int64
	}{
		"stream": {big, 1 << 30}, "single segment": {small, 1 << 30}, "plain": {skewed(5000, 3), 1 << 30},
		"under twice the window": {mid, 1 << 30},
		"over the limit":         {big, 1 << 20}, "corrupt": {corrupt, 1 << 30}, "cut short": {big[:len(big)-100], 1 << 30},
	} {
		want, werr := UnwrapTo(nil, tc.b, tc.limit)
		got, gerr := UnwrapAt(bytes.NewReader(tc.b), int64(len(tc.b)), tc.limit)
		if (werr == nil) != (gerr == nil) || werr != nil && (!errors.Is(gerr, ErrEncoding) || gerr.Error() != werr.Error()) {
			t.Errorf("%s: UnwrapAt error %v, UnwrapTo %v", name, gerr, werr)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: UnwrapAt gave %d bytes, UnwrapTo %d, or other bytes", name, len(got), len(want))
		}
	}
}

// Inflating a large frame as a stream allocates the output and the 8 MiB
// window, not a copy of the compressed file besides.
func TestUnwrapAtHoldsNoCompressedCopy(t *testing.T) {
	inner := skewed(48<<20, 4)
	frame, err := compress(inner)
	if err != nil {
		t.Fatal(err)
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	out, err := UnwrapAt(bytes.NewReader(frame), int64(len(frame)), 1<<30)
	runtime.ReadMemStats(&m1)
	if err != nil || !bytes.Equal(out, inner) {
		t.Fatalf("UnwrapAt: %v", err)
	}
	if got, bound := m1.TotalAlloc-m0.TotalAlloc, uint64(len(inner)+len(frame)/2); got > bound {
		t.Fatalf("allocated %d bytes for a %d-byte frame inflating to %d: over %d, as if the frame were copied",
			got, len(frame), len(inner), bound)
	}
}
