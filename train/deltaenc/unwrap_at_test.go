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

// StreamAt inflates what UnwrapAt streams, into the lent memory when it
// has room, and declines everything else: UnwrapTo then has the answer.
func TestStreamAt(t *testing.T) {
	big, err := compress(skewed(24<<20, 1))
	if err != nil {
		t.Fatal(err)
	}
	want, err := UnwrapTo(nil, big, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	lent := make([]byte, 0, 25<<20)
	got, ok := StreamAt(lent, bytes.NewReader(big), int64(len(big)), 1<<30)
	if !ok || !bytes.Equal(got, want) {
		t.Fatalf("a 24 MiB frame: ok %v, %d bytes, UnwrapTo gives %d", ok, len(got), len(want))
	}
	if &got[0] != &lent[:1][0] {
		t.Error("the frame was not inflated into the lent memory")
	}
	if got, ok := StreamAt(make([]byte, 0, 100), bytes.NewReader(big), int64(len(big)), 1<<30); !ok || !bytes.Equal(got, want) {
		t.Error("with too little lent memory the frame did not inflate")
	}
	small, _ := compress(skewed(100<<10, 2))
	corrupt := bytes.Clone(big)
	corrupt[len(corrupt)/2] ^= 0xff
	for name, b := range map[string][]byte{
		"single segment": small, "plain": skewed(5000, 3), "corrupt": corrupt, "cut short": big[:len(big)-100],
		"data after": append(bytes.Clone(big), 1, 2, 3), "two frames": append(bytes.Clone(big), small...),
	} {
		if got, ok := StreamAt(nil, bytes.NewReader(b), int64(len(b)), 1<<30); ok || got != nil {
			t.Errorf("%s: streamed (%d bytes)", name, len(got))
		}
	}
	if _, ok := StreamAt(nil, bytes.NewReader(big), int64(len(big)), 1<<20); ok {
		t.Error("a frame over the limit streamed")
	}
}

// Whatever StreamAt inflates, UnwrapTo inflates to the same bytes without
// an error: a node's check decides from the stream only where the whole
// file's check would have had the same bytes to judge. Frames with a
// small window (so that they stream), with and without a checksum,
// damaged at random: bytes changed, cut short, followed by other data (a
// skippable frame, an empty frame, bytes).
func TestStreamAtAgreesWithUnwrapTo(t *testing.T) {
	inner := skewed(64<<10, 6)
	var frames [2][]byte
	for i, crc := range []bool{true, false} {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(4<<10), zstd.WithEncoderCRC(crc))
		if err != nil {
			t.Fatal(err)
		}
		frames[i] = enc.EncodeAll(inner, nil)
		enc.Close()
	}
	empty, _ := compress(nil)
	skippable := []byte{0x5e, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 7, 7}
	rng := rand.New(rand.NewPCG(8, 8))
	streamed, damaged := 0, 0
	for i := range 4000 {
		b := bytes.Clone(frames[i%2])
		switch i / 2 % 4 {
		case 0:
			for range 1 + rng.IntN(3) {
				b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
			}
		case 1:
			b = b[:rng.IntN(len(b))]
		case 2:
			b = append(b, [][]byte{skippable, empty, skewed(1+rng.IntN(20), uint64(i))}[rng.IntN(3)]...)
		case 3:
			b = append(b, skippable[:rng.IntN(len(skippable))]...)
		}
		for _, limit := range []int64{1 << 30, int64(len(inner)), int64(len(inner)) - 1} {
			got, ok := StreamAt(nil, bytes.NewReader(b), int64(len(b)), limit)
			if !ok {
				continue
			}
			streamed++
			if !bytes.Equal(got, inner) {
				damaged++
			}
			want, err := UnwrapTo(nil, b, limit)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("case %d, limit %d: StreamAt inflated %d bytes, UnwrapTo %d (%v)", i, limit, len(got), len(want), err)
			}
		}
	}
	t.Logf("%d of 12000 streamed, %d of them to other bytes", streamed, damaged)
	if streamed == 0 || damaged == 0 {
		t.Fatal("no damaged frame streamed to other bytes: the test checks little")
	}
}
