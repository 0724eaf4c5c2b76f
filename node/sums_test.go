package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/ipfs/go-cid"
)

// sumsFixture is a base and deltas addressed by made-up CIDs.
type sumsFixture struct {
	base   *checkpoint.Reader
	ids    []cid.Cid
	deltas map[cid.Cid]*checkpoint.Reader
}

func newSumsFixture(t *testing.T, n int) sumsFixture {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 9))
	file := func(scale float64) *checkpoint.Reader {
		var ts []checkpoint.Tensor
		for _, s := range []struct {
			name  string
			shape []int
		}{{"body.a", []int{40, 30}}, {"body.b", []int{7}}, {"head.w", []int{3}}} {
			n := 1
			for _, d := range s.shape {
				n *= d
			}
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(scale * rng.NormFloat64())
			}
			ts = append(ts, checkpoint.NewF32(s.name, s.shape, v))
		}
		b, err := checkpoint.Encode(&checkpoint.File{Tensors: ts})
		if err != nil {
			t.Fatal(err)
		}
		r, err := checkpoint.OpenBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	fx := sumsFixture{base: file(1), deltas: map[cid.Cid]*checkpoint.Reader{}}
	for i := range n {
		c := cid.NewCidV1(cid.Raw, mustHash(t, fmt.Sprint("delta ", i)))
		fx.ids = append(fx.ids, c)
		fx.deltas[c] = file(0.01)
	}
	return fx
}

func (fx sumsFixture) open(_ context.Context, c cid.Cid) (*checkpoint.Reader, error) {
	r, ok := fx.deltas[c]
	if !ok {
		return nil, fmt.Errorf("no delta %s", c)
	}
	return r, nil
}

func (fx sumsFixture) job(round uint64, base cid.Cid, ids ...cid.Cid) fuseJob {
	j := fuseJob{Round: round, Base: base, Rule: "mean"}
	for _, c := range ids {
		j.Deltas = append(j.Deltas, fuseInput{Delta: c})
	}
	return j
}

// startSums runs a keeper for the tests' lifetime.
func startSums(t testing.TB, fx sumsFixture) *sums {
	t.Helper()
	return startSumsWith(t, func(context.Context) (*checkpoint.Reader, error) { return fx.base, nil })
}

// A fusion served by the running sum, after checks added some deltas, is
// the same file fusion.Fuse writes for the job's set, even when the set
// leaves out a delta the sum holds and names one it never saw.
func TestSumsFuseMatchesFuse(t *testing.T) {
	fx := newSumsFixture(t, 5)
	s := startSums(t, fx)
	ctx := context.Background()
	base := cid.NewCidV1(cid.Raw, mustHash(t, "base"))
	for _, c := range fx.ids[:4] {
		handled, err := s.add(ctx, base, 7, fusion.Input{ID: c.String(), Delta: fx.deltas[c]})
		if !handled || err != nil {
			t.Fatalf("add %s: handled %v, err %v", c, handled, err)
		}
	}
	set := []cid.Cid{fx.ids[0], fx.ids[2], fx.ids[3], fx.ids[4], fx.ids[4]} // not 1; 4 twice
	var got bytes.Buffer
	if err := s.fuse(ctx, sumFuse{job: fx.job(7, base, set...), base: fx.base, open: fx.open, w: &got}); err != nil {
		t.Fatalf("fuse: %v", err)
	}
	var want bytes.Buffer
	var ins []fusion.Input
	for _, c := range set {
		ins = append(ins, fusion.Input{ID: c.String(), Delta: fx.deltas[c]})
	}
	if _, err := fusion.Fuse(&want, fx.base, ins, fusion.DefaultRule); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatal("the running sum's fused file differs from fusion.Fuse of the same set")
	}
}

// The sum follows the newest round: an older round's check or another
// base of the same round is left to the caller (handled false).
func TestSumsFollowsNewestRound(t *testing.T) {
	fx := newSumsFixture(t, 2)
	s := startSums(t, fx)
	ctx := context.Background()
	b7, b7fork, b8 := cid.NewCidV1(cid.Raw, mustHash(t, "7")), cid.NewCidV1(cid.Raw, mustHash(t, "7'")), cid.NewCidV1(cid.Raw, mustHash(t, "8"))
	in := fusion.Input{ID: fx.ids[0].String(), Delta: fx.deltas[fx.ids[0]]}
	if h, _ := s.add(ctx, b8, 8, in); !h {
		t.Fatal("first add not handled")
	}
	if h, _ := s.add(ctx, b7, 7, in); h {
		t.Error("an older round's add was handled")
	}
	if h, _ := s.add(ctx, b7fork, 8, in); h {
		t.Error("another base of the same round was handled")
	}
	var out bytes.Buffer
	if err := s.fuse(ctx, sumFuse{job: fx.job(7, b7, fx.ids[0]), base: fx.base, open: fx.open, w: &out}); !errors.Is(err, errNotCovered) || out.Len() > 0 {
		t.Errorf("an older round's fusion: %v, %d bytes written; want errNotCovered and nothing", err, out.Len())
	}
}

// A delta the rule cannot combine gets the verdict fusion.CheckRule gives,
// and a fusion naming such a delta fails with a DeltaError naming it (the
// machine then voids that contribution).
func TestSumsVerdictsMatchCheckRule(t *testing.T) {
	fx := newSumsFixture(t, 2)
	bad := cid.NewCidV1(cid.Raw, mustHash(t, "bad"))
	tn, _ := fx.deltas[fx.ids[0]].Tensor("body.a")
	v, _ := tn.F32()
	v = append([]float32{}, v...)
	v[17] = 4096
	b, _ := checkpoint.Encode(&checkpoint.File{Tensors: []checkpoint.Tensor{checkpoint.NewF32("body.a", tn.Shape, v),
		checkpoint.NewF32("body.b", []int{7}, make([]float32, 7))}})
	fx.deltas[bad], _ = checkpoint.OpenBytes(b)
	s := startSums(t, fx)
	ctx := context.Background()
	base := cid.NewCidV1(cid.Raw, mustHash(t, "base"))
	in := fusion.Input{ID: bad.String(), Delta: fx.deltas[bad]}
	handled, err := s.add(ctx, base, 3, in)
	want := fusion.CheckRule(fx.base, in, fusion.DefaultRule)
	if !handled || err == nil || want == nil || err.Error() != want.Error() {
		t.Fatalf("add of a delta out of range: handled %v, err %v; CheckRule %v", handled, err, want)
	}
	err = s.fuse(ctx, sumFuse{job: fx.job(3, base, fx.ids[1], bad), base: fx.base, open: fx.open, w: io.Discard})
	var de *fusion.DeltaError
	if !errors.As(err, &de) || de.ID != bad.String() {
		t.Fatalf("fuse naming the bad delta: %v", err)
	}
}

// On a real block store, a fusion served by the running sum and one read
// from the stored files give the same CID, and both stream into the store.
func TestRunFusionSumMatchesFiles(t *testing.T) {
	ctx := context.Background()
	st, base, deltas := roundFixture(t, 5, 96)
	ref, err := openWeights(ctx, st, base, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	job := fuseJob{Round: 2, Base: base, Rule: "mean"}
	for _, d := range append(deltas[1:], deltas[1]) {
		job.Deltas = append(job.Deltas, fuseInput{Delta: d})
	}
	files, err := runFusion(ctx, st, job, 1<<30, nil, nil)
	if err != nil || files.Sum {
		t.Fatalf("fusion from files: %v (from sum %v)", err, files.Sum)
	}
	s := startSums(t, sumsFixture{base: ref})
	for _, d := range deltas[:3] { // deltas[0] is not in the job; deltas[3:] come at the fusion
		r, _ := openDelta(ctx, st, d, 1<<30, ref)
		if ok, err := s.add(ctx, base, 2, fusion.Input{ID: d.String(), Delta: r}); !ok || err != nil {
			t.Fatalf("add: %v %v", ok, err)
		}
	}
	fromSum, err := runFusion(ctx, st, job, 1<<30, s, nil)
	if err != nil || !fromSum.Sum {
		t.Fatalf("fusion from the sum: %v (from sum %v)", err, fromSum.Sum)
	}
	if !fromSum.Fused.Equals(files.Fused) || fromSum.Bytes != files.Bytes || files.Bytes == 0 {
		t.Fatalf("from the sum %s (%d bytes), from files %s (%d bytes)", fromSum.Fused, fromSum.Bytes, files.Fused, files.Bytes)
	}
}

// A fusion whose writer fails returns the writer's error itself (so a
// *fusion.DeltaError still names the delta) and leaves no goroutine
// blocked on the pipe.
func TestImportStreamWriterError(t *testing.T) {
	st, _, _ := roundFixture(t, 0, 8)
	bad := &fusion.DeltaError{ID: "d", Err: fusion.ErrRange}
	_, _, err := importStream(context.Background(), st, func(w io.Writer) error {
		if _, err := w.Write(make([]byte, 3<<20)); err != nil {
			return err
		}
		return bad
	})
	var de *fusion.DeltaError
	if !errors.As(err, &de) || de.ID != "d" || errors.Is(err, errImport) {
		t.Fatalf("err = %v, want the writer's DeltaError", err)
	}
}

// Once the head reaches a round, the sum of that round is dropped: a later
// fusion of it is no longer served by the sum (it would be by Fuse).
func TestSumsDropOnHead(t *testing.T) {
	fx := newSumsFixture(t, 1)
	s := startSums(t, fx)
	ctx := context.Background()
	base := cid.NewCidV1(cid.Raw, mustHash(t, "b"))
	in := fusion.Input{ID: fx.ids[0].String(), Delta: fx.deltas[fx.ids[0]]}
	if ok, err := s.add(ctx, base, 4, in); !ok || err != nil {
		t.Fatalf("add: %v %v", ok, err)
	}
	s.headAt(3)
	if err := s.fuse(ctx, sumFuse{job: fx.job(4, base, fx.ids[0]), base: fx.base, open: fx.open, w: io.Discard}); err != nil {
		t.Fatalf("a drop of an older round removed the sum: %v", err)
	}
	s.headAt(4)
	if ok, _ := s.add(ctx, base, 4, in); ok {
		t.Fatal("the sum of round 4 was kept after a drop of round 4")
	}
}

// When the node starts training a round, a sum of that round begun by
// earlier checks is let go of (the fusion then reads its deltas from the
// store), and a new one may start; a sum of another round stays.
func TestSumsDropWhenTrainingStarts(t *testing.T) {
	fx := newSumsFixture(t, 1)
	s := startSums(t, fx)
	ctx := context.Background()
	base := cid.NewCidV1(cid.Raw, mustHash(t, "b"))
	in := fusion.Input{ID: fx.ids[0].String(), Delta: fx.deltas[fx.ids[0]]}
	if ok, err := s.add(ctx, base, 4, in); !ok || err != nil {
		t.Fatalf("add: %v %v", ok, err)
	}
	opens := 0
	open := func(ctx context.Context, c cid.Cid) (*checkpoint.Reader, error) {
		opens++
		return fx.open(ctx, c)
	}
	fuse := func() {
		t.Helper()
		if err := s.fuse(ctx, sumFuse{job: fx.job(4, base, fx.ids[0]), base: fx.base, open: open, w: io.Discard}); err != nil {
			t.Fatal(err)
		}
	}
	s.training(5)
	fuse()
	if opens != 0 {
		t.Fatalf("training round 5 dropped the sum of round 4 (%d deltas read back)", opens)
	}
	s.training(4)
	fuse()
	if opens != 1 {
		t.Fatalf("after training of round 4 started, the fusion read %d deltas from the store, want 1", opens)
	}
	if ok, err := s.add(ctx, base, 4, in); !ok || err != nil {
		t.Fatalf("no new sum of round 4 after the drop: %v %v", ok, err)
	}
}

// addLazy opens a delta only when the sum does not hold it yet, so the
// node's own delta, added by the fusion first, is not inflated again; the
// sum then fuses the same bytes as with the delta added once.
func TestSumsAddLazyOpensOnlyWhatIsMissing(t *testing.T) {
	fx := newSumsFixture(t, 2)
	s := startSums(t, fx)
	ctx := context.Background()
	base := cid.NewCidV1(cid.Raw, mustHash(t, "base"))
	opened := 0
	lazy := func(c cid.Cid) func(context.Context) (fusion.Input, error) {
		return func(context.Context) (fusion.Input, error) {
			opened++
			return fusion.Input{ID: c.String(), Delta: fx.deltas[c]}, nil
		}
	}
	if handled, err := s.add(ctx, base, 3, fusion.Input{ID: fx.ids[0].String(), Delta: fx.deltas[fx.ids[0]]}); !handled || err != nil {
		t.Fatalf("add: %v %v", handled, err)
	}
	for _, c := range []cid.Cid{fx.ids[0], fx.ids[1]} {
		if handled, err := s.addLazy(ctx, base, 3, c.String(), lazy(c)); !handled || err != nil {
			t.Fatalf("addLazy %s: %v %v", c, handled, err)
		}
	}
	if opened != 1 {
		t.Fatalf("opened %d deltas, want only the one the sum lacked", opened)
	}
	var got, want bytes.Buffer
	if err := s.fuse(ctx, sumFuse{job: fx.job(3, base, fx.ids...), base: fx.base, open: fx.open, w: &got}); err != nil {
		t.Fatal(err)
	}
	ins := []fusion.Input{{ID: fx.ids[0].String(), Delta: fx.deltas[fx.ids[0]]}, {ID: fx.ids[1].String(), Delta: fx.deltas[fx.ids[1]]}}
	if _, err := fusion.Fuse(&want, fx.base, ins, fusion.DefaultRule); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatal("the sum after addLazy fuses other bytes than each delta once")
	}
}
