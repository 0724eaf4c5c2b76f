package fusion

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// spanElems is how many coordinates of a tensor Fuse holds per input at a
// time: 1 MiB of float32 per input, so fusing n deltas holds (n+2) MiB of
// tensor data whatever the model's size, and the buffers stay in the
// last-level cache between being read and being fused. A multiple of
// chunk, vecChunk and robustChunk.
const spanElems = 256 << 10

// buffers are one Fuse call's reused tensor buffers: a span of the base,
// of each delta and of the output.
type buffers struct {
	base    []float32
	ds      [][]float32
	out     []float32
	scratch []*scratch // one per part of a span
}

func newBuffers(n, size, workers int) *buffers {
	b := &buffers{base: make([]float32, size), ds: make([][]float32, n), out: make([]float32, size),
		scratch: make([]*scratch, max(workers, 1))}
	for i := range b.scratch {
		b.scratch[i] = &scratch{}
	}
	for i := range b.ds {
		b.ds[i] = make([]float32, size)
	}
	return b
}

// readSpan fills dst with elements [lo, lo+len(dst)) of an F32 tensor.
func readSpan(r *checkpoint.Reader, name string, lo int, dst []float32) error {
	if len(dst) == 0 {
		return nil
	}
	if littleEndian {
		return r.ReadRangeInto(name, 4*int64(lo), float32Bytes(dst))
	}
	raw := make([]byte, 4*len(dst))
	if err := r.ReadRangeInto(name, 4*int64(lo), raw); err != nil {
		return err
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return nil
}

// spanOf returns elements [lo, lo+len(buf)) of an F32 tensor: a view of
// r's memory when r has one (checkpoint.OpenBytes) and the data is
// 4-byte aligned on a little-endian processor, else a copy read into buf.
// Fuse never writes to its inputs, so a view is as good as a copy and
// saves a pass over memory.
func spanOf(r *checkpoint.Reader, name string, lo int, buf []float32) ([]float32, error) {
	if littleEndian && len(buf) > 0 {
		b, ok, err := r.View(name, 4*int64(lo), 4*int64(len(buf)))
		if err != nil {
			return nil, err
		}
		if ok && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
			return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(buf)), nil
		}
	}
	return buf, readSpan(r, name, lo, buf)
}

// part is one goroutine's share of a span: coordinates [lo, hi) of the
// tensor, at [lo-off, hi-off) of the buffers.
type part struct{ lo, hi, off int }

// parts splits [lo, hi) like job.run: up to workers ranges of whole
// chunks, none smaller than minSplit.
func parts(lo, hi, workers int) []part {
	n := hi - lo
	k := min(workers, n/minSplit)
	if k <= 1 {
		return []part{{lo, hi, lo}}
	}
	step := ((n+k-1)/k + chunk - 1) / chunk * chunk
	out := make([]part, 0, k)
	for p := range k {
		a, b := min(lo+p*step, hi), min(lo+(p+1)*step, hi)
		if p == k-1 {
			b = hi
		}
		out = append(out, part{a, b, lo})
	}
	return out
}

// span reads coordinates [lo, hi) of tensor name from the base and every
// delta into the buffers and fuses them into f.buf.out. Each part is read
// and fused by its own goroutine (the readers are io.ReaderAt, safe for
// concurrent use); every coordinate sees the same operations whatever the
// split. It reports whether any value was non-finite.
func (f *fuser) span(name string, lo, hi int) (bool, error) {
	ps := parts(lo, hi, f.workers)
	bad := make([]bool, len(ps))
	errs := make([]*readErr, len(ps))
	if len(ps) == 1 {
		bad[0], errs[0] = f.fusePart(name, ps[0], f.buf.scratch[0])
	} else {
		var wg sync.WaitGroup
		for i, p := range ps {
			wg.Go(func() { bad[i], errs[i] = f.fusePart(name, p, f.buf.scratch[i]) })
		}
		wg.Wait()
	}
	if err := firstReadErr(errs); err != nil {
		return false, f.readError(name, err)
	}
	for _, b := range bad {
		if b {
			return true, nil
		}
	}
	return false, nil
}

// readErr is a failed read of input k (-1 for the base).
type readErr struct {
	input int
	err   error
}

func (f *fuser) fusePart(name string, p part, s *scratch) (bool, *readErr) {
	a, b := p.lo-p.off, p.hi-p.off
	base, err := spanOf(f.base, name, p.lo, f.buf.base[a:b])
	if err != nil {
		return false, &readErr{-1, err}
	}
	ds := make([][]float32, len(f.inputs))
	for i, in := range f.inputs {
		if ds[i], err = f.deltaSpan(in.Delta, name, p.lo, f.buf.ds[i][a:b]); err != nil {
			return false, &readErr{i, err}
		}
	}
	j := job{rule: f.rule, out: f.buf.out[a:b], base: base, ds: ds, coef: f.coef, net: f.net, scratch: s}
	return j.run(1), nil
}

// firstReadErr picks the error of the earliest input (base first), so the
// error does not depend on which goroutine failed first.
func firstReadErr(errs []*readErr) *readErr {
	var first *readErr
	for _, e := range errs {
		if e != nil && (first == nil || e.input < first.input) {
			first = e
		}
	}
	return first
}

func (f *fuser) readError(name string, e *readErr) error {
	if e.input < 0 {
		return fmt.Errorf("base: %w", e.err)
	}
	return &DeltaError{ID: f.inputs[e.input].ID, Tensor: name, Err: e.err}
}

// scan streams tensor name of r through buf and returns the first
// non-finite element, if any.
func scan(r *checkpoint.Reader, name string, n int, buf []float32) (int, float32, bool, error) {
	for lo := 0; lo < n; lo += len(buf) {
		v, err := spanOf(r, name, lo, buf[:min(len(buf), n-lo)])
		if err != nil {
			return 0, 0, false, err
		}
		if i, x, bad := firstNonFinite(v); bad {
			return lo + i, x, true, nil
		}
	}
	return 0, 0, false, nil
}
