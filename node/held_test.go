package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/ipfs/go-cid"
)

// same reports whether a and b share their first byte's memory.
func same(a, b []byte) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:1][0] == &b[:1][0]
}

// A buffer goes back to fusions only once its base is evicted and no
// reader holds it; a held base's bytes stay as they were until then.
func TestHeldBasesReuseOnlyFreedBuffers(t *testing.T) {
	const size = 1 << 10
	h := newHeldBases(heldShare * (heldKeep + 2) * size)
	c := func(s string) cid.Cid { return cid.NewCidV1(cid.Raw, mustHash(t, s)) }
	fill := func(b []byte, v byte) []byte { return append(b, bytes.Repeat([]byte{v}, size)...) }
	b1 := fill(h.buffer(size), 1)
	h.hold(c("1"), b1)
	h.hold(c("2"), fill(h.buffer(size), 2))
	got, done := h.get(c("1"))
	if !same(got, b1) {
		t.Fatal("base 1 is not held")
	}
	h.hold(c("3"), fill(h.buffer(size), 3)) // evicts base 1, still read
	if b, _ := h.get(c("1")); b != nil {
		t.Fatal("base 1 still held after two newer ones")
	}
	b4 := h.buffer(size)
	if same(b4, b1) {
		t.Fatal("a base's buffer was handed out while a reader held it")
	}
	if !bytes.Equal(got, bytes.Repeat([]byte{1}, size)) {
		t.Fatal("a read base changed under its reader")
	}
	done()
	done() // a second call is harmless
	if b5 := h.buffer(size); !same(b5, b1) || len(b5) != 0 {
		t.Fatalf("the freed buffer was not reused (len %d)", len(b5))
	}
	h.drop(b4)
}

// Bases are held only when heldKeep+2 of them fit in 1/heldShare of the
// memory budget, and never without a budget.
func TestHeldBasesFit(t *testing.T) {
	if h := newHeldBases(0); h != nil || h.fits(1) || h.buffer(1) != nil {
		t.Fatal("bases held without a budget")
	}
	const size = 40 << 20
	budget := int64(heldShare * (heldKeep + 2) * size)
	if !newHeldBases(budget).fits(size) {
		t.Fatalf("a budget of %d does not hold bases of %d", budget, size)
	}
	if h := newHeldBases(budget - heldShare); h.fits(size) || h.buffer(size) != nil {
		t.Fatalf("a budget of %d holds bases of %d", budget-heldShare, size)
	}
}

// notStored hides some files from a fusion or the trainer, as if the
// store had lost them: what still works read them from memory.
type notStored struct {
	store
	hidden cid.Cid
}

var errHidden = errors.New("hidden by the test")

func (s notStored) OpenFile(ctx context.Context, c cid.Cid, max int64) (storedFile, error) {
	if c.Equals(s.hidden) {
		return nil, errHidden
	}
	return s.store.OpenFile(ctx, c, max)
}

func (s notStored) ReadFile(ctx context.Context, c cid.Cid, max int64) ([]byte, error) {
	if c.Equals(s.hidden) {
		return nil, errHidden
	}
	return s.store.ReadFile(ctx, c, max)
}

// A fusion that holds its result stores the same file, with the same CID,
// as one that streams it; the held bytes are the stored file; and the next
// fusion, and the trainer, read that base from memory, not the store.
func TestRunFusionHoldsItsBase(t *testing.T) {
	ctx := context.Background()
	st, base, deltas := roundFixture(t, 4, 96)
	job := fuseJob{Round: 2, Base: base, Rule: "mean"}
	for _, d := range deltas[:2] {
		job.Deltas = append(job.Deltas, fuseInput{Delta: d})
	}
	streamed, err := runFusion(ctx, st, job, 1<<30, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newHeldBases(1 << 40)
	held, err := runFusion(ctx, st, job, 1<<30, nil, h)
	if err != nil || !held.Fused.Equals(streamed.Fused) || held.Bytes != streamed.Bytes {
		t.Fatalf("held fusion %s (%d bytes, %v), streamed %s (%d bytes)", held.Fused, held.Bytes, err, streamed.Fused, streamed.Bytes)
	}
	parent, err := st.ReadFile(ctx, base, 1<<30)
	if err != nil || int64(len(parent)) != held.Bytes {
		t.Fatalf("fused file of %d bytes from a base of %d (%v): prepare's buffers would not fit", held.Bytes, len(parent), err)
	}
	stored, err := st.ReadFile(ctx, held.Fused, 1<<30)
	b, done := h.get(held.Fused)
	if err != nil || b == nil || !bytes.Equal(b, stored) {
		t.Fatalf("held bytes (%d) differ from the stored file (%d, %v)", len(b), len(stored), err)
	}
	done()
	next := fuseJob{Round: 3, Base: held.Fused, Rule: "mean", Deltas: []fuseInput{{Delta: deltas[2]}}}
	hidden := notStored{store: st, hidden: held.Fused}
	if _, err := runFusion(ctx, hidden, next, 1<<30, nil, nil); !errors.Is(err, errHidden) {
		t.Fatalf("without held bases the next fusion read %v", err)
	}
	if _, err := runFusion(ctx, hidden, next, 1<<30, nil, h); err != nil {
		t.Fatalf("the next fusion did not read its held parent: %v", err)
	}
	tr := &trainer{store: hidden, held: h, maxDelta: 1 << 30}
	f, release, err := tr.loadBase(ctx, held.Fused)
	if err != nil || len(f.Tensors) == 0 {
		t.Fatalf("trainer's base: %v", err)
	}
	release()
}

// A held fusion whose write failed because its ctx ended leaves its buffer
// and its base's buffer out of reuse: the running sum's keeper may still
// be writing the one and reading the other.
func TestHeldBuffersOfAStoppedFusionAreNotReused(t *testing.T) {
	const size = 1 << 10
	h := newHeldBases(heldShare * (heldKeep + 2) * size)
	parent := cid.NewCidV1(cid.Raw, mustHash(t, "parent"))
	file, err := checkpoint.Encode(&checkpoint.File{Tensors: []checkpoint.Tensor{
		checkpoint.NewF32("w", []int{size / 8}, make([]float32, size/8))}})
	if err != nil {
		t.Fatal(err)
	}
	pb := append(h.buffer(size), file...)
	h.hold(parent, pb)
	ctx, cancel := context.WithCancel(context.Background())
	_, _, release, err := openBase(ctx, nil, h, parent, 2*size)
	if err != nil {
		t.Fatal(err)
	}
	var written []byte
	_, _, err = importHeld(ctx, nil, h, h.buffer(size), func(w io.Writer) error {
		w.Write(make([]byte, size))
		written = w.(*appendWriter).b
		cancel()
		return ctx.Err()
	})
	release()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	next := h.buffer(size)
	if same(next, written) {
		t.Fatal("the stopped fusion's buffer was handed out again")
	}
	h.hold(cid.NewCidV1(cid.Raw, mustHash(t, "a")), next)
	h.hold(cid.NewCidV1(cid.Raw, mustHash(t, "b")), h.buffer(size)) // evicts parent
	for range heldKeep + 2 {
		if same(h.buffer(size), pb) {
			t.Fatal("the stopped fusion's base was handed out again")
		}
	}
}

// A trainer keeps the pages its collections free once, and only when,
// the node holds its bases: bases that fit leave memory to spare.
func TestTrainerKeepsFreedPagesOnlyWhenHoldingBases(t *testing.T) {
	if (&trainer{}).keepFreed() {
		t.Fatal("a node without held bases keeps freed pages")
	}
	h := newHeldBases(1 << 30)
	tr := &trainer{held: h}
	if tr.keepFreed() {
		t.Fatal("freed pages kept before any base was held")
	}
	h.prepare(1 << 20)
	if !tr.keepFreed() {
		t.Fatal("a node holding 1 MiB bases in a 1 GiB budget gives freed pages back")
	}
	big := newHeldBases(1 << 30)
	big.prepare(1 << 28)
	if (&trainer{held: big}).keepFreed() {
		t.Fatal("a node whose bases do not fit keeps freed pages")
	}
}
