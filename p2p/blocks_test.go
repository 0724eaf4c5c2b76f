package p2p

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/coldnode/coldnode/p2p/ufs"
)

func cborRecord(t testing.TB, data []byte) blocks.Block {
	t.Helper()
	c, err := cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: mh.SHA2_256, MhLength: -1}.Sum(data)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := blocks.NewBlockWithCid(data, c)
	return b
}

func fetchSize(t *testing.T) int {
	if testing.Short() {
		return 8 << 20
	}
	return 50 << 20
}

func TestFetchBetweenTwoHosts(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	connectAll(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data := randomBytes(fetchSize(t), 1)
	root, err := a.Blocks().ImportBytes(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ufs.CID(bytes.NewReader(data))
	if !root.Equals(want) {
		t.Fatalf("imported root %s, CID says %s", root, want)
	}
	var calls, last int64
	n, err := b.Blocks().Fetch(ctx, root, int64(len(data)), func(done, total int64) {
		calls++
		if done < last || total != int64(len(data)) {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last = done
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(data)) || last != n || calls < int64(len(data)>>20) {
		t.Fatalf("fetched %d bytes (last progress %d, %d calls), want %d", n, last, calls, len(data))
	}
	checkExport(t, b.Blocks(), root, data)
}

func checkExport(t *testing.T, bl *Blocks, root cid.Cid, want []byte) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bl.Export(ctx, root, &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("exported %d bytes differ from the %d imported", out.Len(), len(want))
	}
}

func TestFetchAmongFive(t *testing.T) {
	ns := make([]*Node, 5)
	for i := range ns {
		ns[i] = newTestNode(t, nil)
	}
	connectAll(t, ns...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	data := randomBytes(fetchSize(t), 2)
	root, err := ns[0].Blocks().ImportBytes(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(ns))
	for i := 1; i < len(ns); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = ns[i].Blocks().Fetch(ctx, root, int64(len(data)), nil)
		}()
	}
	wg.Wait()
	for i := 1; i < len(ns); i++ {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		checkExport(t, ns[i].Blocks(), root, data)
	}
}

func TestFetchLimits(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	connectAll(t, a, b)
	ctx := context.Background()
	data := randomBytes(3<<20, 3)
	root, _ := a.Blocks().ImportBytes(ctx, data)
	if _, err := b.Blocks().Fetch(ctx, root, 1<<20, nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("fetch over the cap: err = %v, want ErrTooLarge", err)
	}
	missing, _ := ufs.CID(bytes.NewReader([]byte("nobody has this")))
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := b.Blocks().Fetch(short, missing, 1<<20, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fetch of a missing CID: err = %v, want deadline exceeded", err)
	}
}

func TestRecordsPutGet(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	connectAll(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rec := cborRecord(t, []byte{0xa1, 0x61, 'r', 0x01}) // {"r": 1}
	if err := a.Blocks().PutBlock(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := b.Blocks().GetBlock(ctx, rec.Cid())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.RawData(), rec.RawData()) {
		t.Fatal("fetched record differs")
	}
	if ok, _ := b.Blocks().Has(ctx, rec.Cid()); !ok {
		t.Fatal("fetched record not stored locally")
	}
	if err := a.Blocks().Put(ctx, rec.Cid(), []byte("tampered")); !errors.Is(err, ErrBadBlock) {
		t.Fatalf("put with a wrong CID: err = %v, want ErrBadBlock", err)
	}
}

func TestBlocksSurviveRestartAndGC(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	bl, err := OpenBlocks(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	kept, dropped := randomBytes(2<<20+7, 4), randomBytes(1<<20+9, 5)
	keptRoot, _ := bl.ImportBytes(ctx, kept)
	droppedRoot, _ := bl.ImportBytes(ctx, dropped)
	// A record that links to the kept file: pinning it keeps both.
	rec := cborRecord(t, append([]byte{0xa1, 0x61, 'f', 0xd8, 0x2a, 0x58, byte(len(keptRoot.Bytes()) + 1), 0}, keptRoot.Bytes()...))
	if err := bl.PutBlock(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := bl.Pin(ctx, rec.Cid()); err != nil {
		t.Fatal(err)
	}
	if err := bl.Close(); err != nil {
		t.Fatal(err)
	}
	bl, err = OpenBlocks(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	pins, _ := bl.Pins(ctx)
	if len(pins) != 1 || !pins[0].Equals(rec.Cid()) {
		t.Fatalf("pins after restart %v, want [%s]", pins, rec.Cid())
	}
	checkExport(t, bl, droppedRoot, dropped)
	st, err := bl.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Kept: the record, the kept root and its 3 leaves; removed: the
	// dropped file's root and its 2 leaves.
	if st.Kept != 5 || st.Removed != 3 || st.Freed < int64(len(dropped)) {
		t.Fatalf("gc %+v, want 5 kept, 3 removed, at least %d bytes freed", st, len(dropped))
	}
	checkExport(t, bl, keptRoot, kept)
	if ok, _ := bl.Has(ctx, droppedRoot); ok {
		t.Fatal("GC kept an unpinned root")
	}
	if err := bl.Unpin(ctx, rec.Cid()); err != nil {
		t.Fatal(err)
	}
	if st, _ := bl.GC(ctx); st.Kept != 0 || st.Removed != 5 {
		t.Fatalf("gc after unpin %+v, want everything removed", st)
	}
}

// TestFetchFromSeveralProviders checks that one fetch is served by both
// holders of a file at once (bitswap sessions split wants among peers).
func TestFetchFromSeveralProviders(t *testing.T) {
	a, b, c := newTestNode(t, nil), newTestNode(t, nil), newTestNode(t, nil)
	connectAll(t, a, b, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data := randomBytes(32<<20, 14)
	root, _ := a.Blocks().ImportBytes(ctx, data)
	if r2, _ := b.Blocks().ImportBytes(ctx, data); !r2.Equals(root) {
		t.Fatalf("same bytes, different roots %s %s", root, r2)
	}
	if _, err := c.Blocks().Fetch(ctx, root, int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	sa, _ := a.Blocks().bswap.Stat()
	sb, _ := b.Blocks().bswap.Stat()
	if sa.DataSent == 0 || sb.DataSent == 0 {
		t.Fatalf("bytes sent: a %d, b %d; want both providers used", sa.DataSent, sb.DataSent)
	}
	t.Logf("a sent %d bytes, b sent %d", sa.DataSent, sb.DataSent)
	checkExport(t, c.Blocks(), root, data)
}

func TestBlocksAfterClose(t *testing.T) {
	bl, err := OpenBlocks(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	root, _ := bl.ImportBytes(ctx, []byte("x"))
	if err := bl.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bl.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := bl.GetBlock(ctx, root); !errors.Is(err, ErrClosed) {
		t.Fatalf("GetBlock after Close: %v, want ErrClosed", err)
	}
	if _, err := bl.GC(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("GC after Close: %v, want ErrClosed", err)
	}
	if _, err := bl.Has(ctx, root); !errors.Is(err, ErrClosed) {
		t.Fatalf("Has after Close: %v, want ErrClosed", err)
	}
}

// A direct pin keeps one block and nothing it links to; SetPins replaces the
// whole pin set durably, and a recursive pin of the same CID wins.
func TestDirectPinsAndSetPins(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	bl, err := OpenBlocks(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	file := randomBytes(2<<20+3, 6)
	root, _ := bl.ImportBytes(ctx, file)
	rec := cborRecord(t, append([]byte{0xa1, 0x61, 'f', 0xd8, 0x2a, 0x58, byte(len(root.Bytes()) + 1), 0}, root.Bytes()...))
	if err := bl.PutBlock(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if a, r, err := bl.SetPins(ctx, []Pin{{CID: rec.Cid(), Direct: true}}); err != nil || a != 1 || r != 0 {
		t.Fatalf("SetPins: added %d removed %d, %v", a, r, err)
	}
	bl.Close()
	if bl, err = OpenBlocks(dir, nil); err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	if ps, _ := bl.PinList(ctx); len(ps) != 1 || !ps[0].Direct {
		t.Fatalf("pins after reopen %+v, want one direct pin", ps)
	}
	// The record stays; the file it links to (root + 3 leaves) goes.
	if st, err := bl.GC(ctx); err != nil || st.Kept != 1 || st.Removed != 4 {
		t.Fatalf("gc %+v %v, want 1 kept, 4 removed", st, err)
	}
	if ok, _ := bl.Has(ctx, rec.Cid()); !ok {
		t.Fatal("directly pinned record removed")
	}
	root2, _ := bl.ImportBytes(ctx, file)
	want := []Pin{{CID: root2}, {CID: rec.Cid(), Direct: true}, {CID: rec.Cid()}}
	if a, r, err := bl.SetPins(ctx, want[:1]); err != nil || a != 1 || r != 1 {
		t.Fatalf("SetPins swap: added %d removed %d, %v", a, r, err)
	}
	if _, _, err := bl.SetPins(ctx, want); err != nil {
		t.Fatal(err)
	}
	if ps, _ := bl.PinList(ctx); len(ps) != 2 || ps[0].Direct || ps[1].Direct {
		t.Fatalf("pins %+v, want two recursive pins", ps)
	}
	if st, _ := bl.GC(ctx); st.Kept != 5 || st.Removed != 0 {
		t.Fatalf("gc %+v, want 5 kept", st)
	}
}

// ImportBytes stores what Import of the same bytes stores, and keeps no
// slice of the caller's memory: bytes changed after it returns leave the
// stored file as it was (a node reuses the memory of a held base).
func TestImportBytesKeepsNoSliceOfItsInput(t *testing.T) {
	ctx := context.Background()
	bl, err := OpenBlocks(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	data := randomBytes(3<<20+5, 7)
	want := bytes.Clone(data)
	root, err := bl.ImportBytes(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := ufs.CID(bytes.NewReader(want)); err != nil || !c.Equals(root) {
		t.Fatalf("ImportBytes root %s, Import's %s (%v)", root, c, err)
	}
	clear(data)
	checkExport(t, bl, root, want)
}
