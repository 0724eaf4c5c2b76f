package node

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/coldnode/coldnode/consensus"
)

// The slots fit in their share of the budget, at most gatherMax, and a
// release frees one slot however often it is called.
func TestGatherSlots(t *testing.T) {
	var none *gatherSlots
	if _, ok := none.take(1 << 20); ok {
		t.Fatal("a node without a budget gathered a delta")
	}
	g := newGatherSlots(gatherShare * 4 << 20) // four 1 MiB deltas
	if k := g.slots(1 << 20); k != 4 {
		t.Fatalf("%d slots of 1 MiB, want 4", k)
	}
	if k := g.slots(5 << 20); k != 0 {
		t.Fatalf("%d slots of 5 MiB, want none", k)
	}
	var rel []func()
	for range 4 {
		r, ok := g.take(1 << 20)
		if !ok {
			t.Fatalf("slot %d refused", len(rel)+1)
		}
		rel = append(rel, r)
	}
	if _, ok := g.take(1 << 20); ok {
		t.Fatal("a fifth slot was given")
	}
	rel[0]()
	rel[0]()
	if _, ok := g.take(1 << 20); !ok {
		t.Fatal("a released slot was not given again")
	}
	if _, ok := g.take(1 << 20); ok {
		t.Fatal("one release called twice freed two slots")
	}
	if k := newGatherSlots(1 << 40).slots(1); k != gatherMax {
		t.Fatalf("%d slots, want at most %d", k, gatherMax)
	}
}

// A check of a delta fetched from its holder reads it from the memory
// its fetch gathered it in, gives the verdict a check of the stored file
// gives, and frees its slot once judged.
func TestCheckOfAFetchedDeltaGathersIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const rows, cols = 8000, 300
	ref := streamRef(t, rows, cols)
	delta := streamDelta(t, 1, rows, cols, "rows+int8+zstd", nil)
	a, b := testHost(t, t.TempDir(), nil), testHost(t, t.TempDir(), nil)
	b.ServeDAG()
	st, c := fetchingStore(t, a, b, delta)
	rt := checkRuntime(t, st, ref)
	rt.gref.size, rt.gather = int64(len(streamRefFile(t, rows, cols))), newGatherSlots(1<<40)
	base := cid.NewCidV1(cid.Raw, mustHash(t, "base"))
	ck := consensus.Check{Contribution: c, Peer: b.ID(), Delta: c, Base: base, Round: 3, MaxBytes: 1 << 30}
	got, release, err := rt.fetchForCheck(ctx, ck)
	if err != nil {
		t.Fatal(err)
	}
	if got.release == nil || !bytes.Equal(got.b, delta) {
		t.Fatalf("the check holds %d bytes, gathered: %v; want the %d-byte delta gathered", len(got.b), got.release != nil, len(delta))
	}
	msg := rt.judge(ctx, ck, got)
	release()
	got.giveBack(ctx)
	if rt.gather.used != 0 {
		t.Fatalf("%d slots still taken after the check", rt.gather.used)
	}
	if want := checkOld(t, checkRuntime(t, st, ref), ck); verdict(msg) != verdict(want) {
		t.Fatalf("verdict %v, the stored file's check gave %v", msg, want)
	}
}
