package deltaenc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"

	"github.com/klauspost/compress/zstd"
)

// streamUnwrap is Unwrap as it was before the one-call decoder: a new
// streaming decoder per frame, read to the end. Tests and benchmarks
// compare the two.
func streamUnwrap(b []byte, limit int64) ([]byte, error) {
	dec, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(uint64(limit)), zstd.WithDecoderMaxWindow(uint64(min(limit, 1<<30))))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	out, err := io.ReadAll(io.LimitReader(dec, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, errors.New("past the limit")
	}
	return out, nil
}

// streamFrame compresses b through the streaming writer, whose frame
// does not declare its content size.
func streamFrame(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	enc, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A frame with no declared size, or several frames, cannot inflate past
// the limit either; and Unwrap gives the same bytes as the streaming
// decoder, whether or not the frame declares its size.
func TestUnwrapBombs(t *testing.T) {
	zeros := make([]byte, 64<<20)
	oneShot, _ := zstd.NewWriter(nil)
	defer oneShot.Close()
	half := oneShot.EncodeAll(make([]byte, 3<<19), nil)
	for name, bomb := range map[string][]byte{
		"no declared size": streamFrame(t, zeros),
		"two frames":       append(append([]byte{}, half...), half...),
	} {
		if _, err := Unwrap(bomb, 2<<20); !errors.Is(err, ErrEncoding) || !strings.Contains(err.Error(), "capped") {
			t.Errorf("%s: %v", name, err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	plain := make([]byte, 3<<20)
	for i := range plain {
		plain[i] = byte(rng.IntN(7))
	}
	for name, frame := range map[string][]byte{"declared": oneShot.EncodeAll(plain, nil), "streamed": streamFrame(t, plain)} {
		got, err := Unwrap(frame, 16<<20)
		want, werr := streamUnwrap(frame, 16<<20)
		if err != nil || werr != nil || !bytes.Equal(got, want) || !bytes.Equal(got, plain) {
			t.Errorf("%s: %v, stream %v, equal %v", name, err, werr, bytes.Equal(got, plain))
		}
	}
}

// A corrupt frame is an error from either decoder, and one truncated by a
// byte too.
func TestUnwrapCorruptLikeStream(t *testing.T) {
	enc, _ := zstd.NewWriter(nil)
	defer enc.Close()
	good := enc.EncodeAll(bytes.Repeat([]byte("coldnode "), 1<<16), nil)
	flipped := append([]byte{}, good...)
	flipped[len(flipped)/2] ^= 0x55
	for name, b := range map[string][]byte{"truncated": good[:len(good)-1], "flipped": flipped} {
		_, err := Unwrap(b, 1<<20)
		_, serr := streamUnwrap(b, 1<<20)
		if !errors.Is(err, ErrEncoding) || serr == nil {
			t.Errorf("%s: %v, stream %v", name, err, serr)
		}
	}
}

// BenchmarkUnwrap inflates a 10M-value rows+int8+zstd delta file with a
// new streaming decoder per call (the old Unwrap) and with Unwrap, in one
// run: MB/s are of the inflated bytes.
//
// go test -run '^$' -bench Unwrap ./train/deltaenc
func BenchmarkUnwrap(b *testing.B) {
	frame, inner := benchDelta(b)
	limit := int64(len(inner)) * 8
	b.Run("stream", func(b *testing.B) { benchUnwrap(b, streamUnwrap, frame, inner, limit) })
	b.Run("decodeall", func(b *testing.B) { benchUnwrap(b, Unwrap, frame, inner, limit) })
}

func benchUnwrap(b *testing.B, unwrap func([]byte, int64) ([]byte, error), frame, inner []byte, limit int64) {
	b.SetBytes(int64(len(inner)))
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	for b.Loop() {
		out, err := unwrap(frame, limit)
		if err != nil || len(out) != len(inner) {
			b.Fatalf("%v, %d bytes of %d", err, len(out), len(inner))
		}
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
	b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/op")
}

// benchDelta is a 10M-value random body (the mlp of node's benchmarks)
// encoded rows+int8+zstd, and the safetensors inside its frame.
func benchDelta(b testing.TB) (frame, inner []byte) {
	rng := rand.New(rand.NewPCG(5, 5))
	const width = 1816
	f := &checkpoint.File{}
	for i, s := range [][]int{{64, width}, {width, width}, {width, width}, {width, width}} {
		v := make([]float32, s[0]*s[1])
		for j := range v {
			v[j] = float32(1e-3 * rng.NormFloat64())
		}
		f.Tensors = append(f.Tensors, checkpoint.NewF32(fmt.Sprintf("body.l%d.w", i), s, v))
	}
	frame, err := Encode(f, Default)
	if err != nil {
		b.Fatal(err)
	}
	inner, err = streamUnwrap(frame, 1<<30)
	if err != nil {
		b.Fatal(err)
	}
	return frame, inner
}
