package node

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/coldnode/coldnode/consensus"
	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
	"github.com/ipfs/go-cid"
)

// fileStore opens stored files for reading in place (node.store).
type fileStore interface {
	OpenFile(ctx context.Context, c cid.Cid, maxBytes int64) (storedFile, error)
}

// openDelta reads a delta file, plain or encoded (train/deltaenc), for
// fusion onto base: a zstd frame inflates to at most the base layout's
// bound, as a stream when it is large (deltaenc.UnwrapAt), so the
// compressed file is not held whole beside what it inflates to.
func openDelta(ctx context.Context, store fileStore, c cid.Cid, max int64, base *checkpoint.Reader) (*checkpoint.Reader, error) {
	f, err := store.OpenFile(ctx, c, max)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c, err)
	}
	defer f.Close()
	b, err := deltaenc.UnwrapAt(f, f.Size(), deltaenc.Limit(base))
	if err == nil && deltaenc.Compressed(b) {
		err = fmt.Errorf("%w: a zstd frame inside a zstd frame", deltaenc.ErrEncoding)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", c, fusion.ErrMismatch, err)
	}
	r, err := fusion.OpenDelta(b, base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	return r, nil
}

// checkSent is checkDelta for a delta as it travels: a plain delta is
// checked as it is; an encoded one must hold canonical safetensors and is
// checked decoded to float32 against the genesis layout. It returns the
// bytes the fusion reads: b, or the safetensors inside b's zstd frame
// (inflated once here).
func (rt *runtime) checkSent(ctx context.Context, b []byte, bound float64) ([]byte, error) {
	if !deltaenc.Compressed(b) && !encodedHeader(b) {
		return b, checkDelta(b, bound)
	}
	ref, err := rt.genesisLayout(ctx)
	if err != nil {
		return nil, fmt.Errorf("genesis weights: %w", err)
	}
	return checkEncodedDelta(ref, b, bound)
}

// addArrived is the one-pass check of an arrived encoded delta under a
// mean rule: the delta is inflated once, and its norm is summed in the
// pass that adds it to the round's running sum (the sum's own check is
// checkMatch's). It reports true when the delta passed every check of
// checkSent and checkMatch and is in the sum: the verdict those give,
// reached in one pass over the values instead of two. False leaves the
// sum unchanged and the verdict to them; it is the answer for any delta
// they reject, and for one this path cannot judge (a norm within rounding
// of the bound, a round the sum does not follow, a plain delta).
func (rt *runtime) addArrived(ctx context.Context, ck consensus.Check, b []byte) bool {
	if rt.sums == nil || !deltaenc.Compressed(b) && !encodedHeader(b) {
		return false
	}
	ref, err := rt.genesisLayout(ctx)
	if err != nil {
		return false
	}
	buf := lendInflate()
	in, inner, ok := openArrived(ref, ck.Delta, b, *buf)
	added := rt.addOpened(ctx, ck, in, ok)
	if ctx.Err() == nil && deltaenc.Compressed(b) { // the keeper is done with inner
		*buf = inner
		inflateBufs.Put(buf)
	}
	return added
}

// addInner is addArrived for a delta already inflated (inflateArrived):
// inner is the file inside its zstd frame.
func (rt *runtime) addInner(ctx context.Context, ck consensus.Check, inner []byte) bool {
	if rt.sums == nil {
		return false
	}
	in, ok := openInner(ck.Delta, inner)
	return rt.addOpened(ctx, ck, in, ok)
}

// addOpened adds in, opened if ok, to the running sum as addArrived does.
func (rt *runtime) addOpened(ctx context.Context, ck consensus.Check, in fusion.Input, ok bool) bool {
	added := ok && rt.sums.addWithin(ctx, ck.Base, ck.Round, in, ck.NormBound)
	rt.n.log.Debug("delta checked", "contribution", ck.Contribution, "one_pass", added)
	return added
}

// arrived is a delta as its check reads it: the stored file's bytes, or,
// for a large zstd frame (one deltaenc.StreamAt inflates as a stream),
// only the file inside the frame, inflated straight from the store into
// memory lent by inflateBufs: the compressed file is never held whole
// beside what it inflates to.
type arrived struct {
	b       []byte  // the file, read from the store or gathered by its fetch, unless inflated
	raw     *[]byte // the rawBufs memory b lives in
	inner   []byte  // the file inside the frame, when inflated
	buf     *[]byte // the inflateBufs memory inner lives in; nil: not inflated
	release func()  // frees the gather slot b holds (fetchArrived); nil: none
}

// inflateArrived inflates the stored delta c as a stream when it is a
// frame deltaenc.StreamAt streams and that inflates cleanly. ok false
// leaves the delta to be read whole and checked as before: whatever the
// stream could not decide (a corrupt frame, data after it, a small frame)
// gets the verdict and error text of the whole file's check.
func (rt *runtime) inflateArrived(ctx context.Context, st store, c cid.Cid) (arrived, bool) {
	ref, err := rt.genesisLayout(ctx)
	if err != nil {
		return arrived{}, false
	}
	f, err := st.blocks.Open(ctx, c)
	if err != nil {
		return arrived{}, false
	}
	defer f.Close()
	buf := lendInflate()
	inner, ok := deltaenc.StreamAt(*buf, f, f.Size(), deltaenc.Limit(ref))
	if !ok {
		inflateBufs.Put(buf)
		return arrived{}, false
	}
	return arrived{inner: inner, buf: buf}, true
}

// giveBack returns a delta's memory to rawBufs and inflateBufs once it
// is judged, unless ctx ended (the keeper may still be reading it).
func (a arrived) giveBack(ctx context.Context) {
	if a.release != nil {
		a.release()
	}
	if ctx.Err() != nil {
		return
	}
	if a.raw != nil {
		rawBufs.Put(a.raw)
	}
	if a.buf != nil {
		*a.buf = a.inner
		inflateBufs.Put(a.buf)
	}
}

// rawBufs holds memory checks read stored deltas into (readLocalInto): a
// delta's bytes are garbage once it is judged, and the next delta's are
// as large. Reading into memory the process already touched also spares
// the page faults of fresh memory, which on some VMs trap to the host.
var rawBufs sync.Pool // of *[]byte

func lendRaw() *[]byte {
	if buf, ok := rawBufs.Get().(*[]byte); ok {
		return buf
	}
	return new([]byte)
}

// inflateBufs holds memory addArrived inflates deltas into: a delta's
// bytes are garbage once it is judged, and the next delta's are as large.
var inflateBufs sync.Pool // of *[]byte

func lendInflate() *[]byte {
	if buf, ok := inflateBufs.Get().(*[]byte); ok {
		return buf
	}
	return new([]byte)
}

// openArrived unwraps an encoded delta (into dst's memory if compressed)
// and opens it in place as the input checkMatch would add, if it is
// canonical and nothing checkMatch would unwrap again. inner is the
// unwrapped file, nil if the frame did not inflate.
func openArrived(ref *checkpoint.Reader, c cid.Cid, b, dst []byte) (in fusion.Input, inner []byte, ok bool) {
	inner, err := deltaenc.UnwrapTo(dst, b, deltaenc.Limit(ref))
	if err != nil {
		return fusion.Input{}, inner, false
	}
	in, ok = openInner(c, inner)
	return in, inner, ok
}

// openInner opens inner, the file inside an arrived delta's zstd frame,
// as openArrived does: only a canonical encoded file, not another frame.
func openInner(c cid.Cid, inner []byte) (fusion.Input, bool) {
	if deltaenc.Compressed(inner) {
		return fusion.Input{}, false
	}
	r, err := openCanonical(inner)
	if err != nil || !deltaenc.Encoded(r) {
		return fusion.Input{}, false
	}
	return fusion.Input{ID: c.String(), Examples: 1, Delta: r}, true
}

// encodedHeader reports whether b is a safetensors file whose metadata
// names a delta encoding.
func encodedHeader(b []byte) bool {
	r, err := checkpoint.OpenBytes(b)
	return err == nil && deltaenc.Encoded(r)
}

// checkEncodedDelta judges an encoded delta as checkTensors judges the
// float32 delta it decodes to on ref's layout (the same sums in the same
// order), decoding a span at a time instead of into a dense copy. The file
// inside any zstd frame must be canonical; it is returned.
func checkEncodedDelta(ref *checkpoint.Reader, b []byte, bound float64) ([]byte, error) {
	inner, err := deltaenc.Unwrap(b, deltaenc.Limit(ref))
	if err != nil {
		return nil, err
	}
	if err := checkInner(ref, inner, bound); err != nil {
		return nil, err
	}
	return inner, nil
}

// checkInner is checkEncodedDelta of the file inside any zstd frame.
func checkInner(ref *checkpoint.Reader, inner []byte, bound float64) error {
	r, err := openCanonical(inner)
	if errors.Is(err, errNotCanonical) {
		return errors.New("encoded delta is not a canonical safetensors file")
	}
	if err != nil {
		return err
	}
	var n normSum
	if err := deltaenc.Spans(r, ref, make([]float32, 256<<10), n.add); err != nil {
		return err
	}
	if norm := math.Sqrt(n.total()); bound > 0 && norm > bound {
		return fmt.Errorf("delta norm %.4g exceeds the swarm's bound %.4g", norm, bound)
	}
	return nil
}

// normSum adds squares as finiteSquares and checkTensors do: a float64 sum
// per tensor, element by element, then the tensors' sums in order.
type normSum struct {
	name     string
	sum, cur float64
}

func (s *normSum) add(name string, lo int, v []float32) error {
	if name != s.name {
		s.sum += s.cur
		s.name, s.cur = name, 0
	}
	cur := s.cur
	for i, x := range v {
		if math.Float32bits(x)&0x7f800000 == 0x7f800000 {
			return fmt.Errorf("tensor %q: element %d is %v", name, lo+i, x)
		}
		f := float64(x)
		cur += f * f
	}
	s.cur = cur
	return nil
}

func (s *normSum) total() float64 { return s.sum + s.cur }
