package p2p

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/coldnode/coldnode/p2p/ufs"
)

// packFiles lists the pack files of n's store.
func packFiles(t *testing.T, n *Node) []string {
	t.Helper()
	ents, err := os.ReadDir(n.blocks.blobs.packs.dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, filepath.Join(n.blocks.blobs.packs.dir, e.Name()))
	}
	return out
}

// fetchInto fetches f's DAG directly into a node on repo and returns it.
func (f *dagFixture) fetchInto(t *testing.T, repo string) *Node {
	t.Helper()
	n := startNode(t, nil, testKey(t), repo)
	connectAll(t, f.src, n)
	if _, err := n.FetchDirect(context.Background(), f.src.ID(), f.root, 1<<30, nil); err != nil {
		t.Fatal(err)
	}
	return n
}

// A direct fetch writes its large leaves to one pack, not to a file each;
// every block is listed once, verifies, survives a restart, and GC of the
// unpinned DAG deletes the pack.
func TestFetchDirectPacksLeaves(t *testing.T) {
	f := newDAGFixture(t)
	repo := t.TempDir()
	n := f.fetchInto(t, repo)
	if packs := packFiles(t, n); len(packs) != 1 {
		t.Fatalf("pack files %v, want one", packs)
	}
	if files, err := n.blocks.blobs.files(); err != nil || len(files) != 0 {
		t.Fatalf("blob files %v (%v), want none: the fetch packs its leaves", files, err)
	}
	dag := dagBlocks(t, f.src.Blocks(), f.root)
	if keys := allKeys(t, n.blocks); len(keys) != len(dag) {
		t.Fatalf("AllKeysChan lists %d blocks, want the DAG's %d", len(keys), len(dag))
	}
	st, err := n.Blocks().Verify(context.Background(), func(c cid.Cid, err error) { t.Errorf("bad block %s: %v", c, err) })
	if err != nil || st.Blocks != len(dag) {
		t.Fatalf("Verify read %d blocks (%v), want %d", st.Blocks, err, len(dag))
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	f.dst = startNode(t, nil, testKey(t), repo)
	if got := f.exported(t); !bytes.Equal(got, f.data) {
		t.Fatal("packed blocks read back after a restart differ")
	}
	if gc, err := f.dst.Blocks().GC(context.Background()); err != nil || gc.Removed != len(dag) {
		t.Fatalf("GC removed %d blocks (%v), want %d", gc.Removed, err, len(dag))
	}
	if packs := packFiles(t, f.dst); len(packs) != 0 {
		t.Fatalf("pack files %v left after GC removed every block", packs)
	}
}

// GC keeps the pack of a pinned DAG and deletes the other's.
func TestGCKeepsPinnedPack(t *testing.T) {
	f := newDAGFixture(t)
	n := f.fetchInto(t, t.TempDir())
	other, err := f.src.Blocks().ImportBytes(context.Background(), randomBytes(2<<20, 31))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.FetchDirect(context.Background(), f.src.ID(), other, 1<<30, nil); err != nil {
		t.Fatal(err)
	}
	if packs := packFiles(t, n); len(packs) != 2 {
		t.Fatalf("pack files %v, want two (one per fetch)", packs)
	}
	if err := n.Blocks().Pin(context.Background(), f.root); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Blocks().GC(context.Background()); err != nil {
		t.Fatal(err)
	}
	if packs := packFiles(t, n); len(packs) != 1 {
		t.Fatalf("pack files %v after GC, want the pinned DAG's", packs)
	}
	f.dst = n
	if got := f.exported(t); !bytes.Equal(got, f.data) {
		t.Fatal("pinned DAG reads back wrong after GC")
	}
}

// What a crash can leave is cleaned up at open: a pack no index entry
// names (the fetch died before publishing) is deleted, and an entry whose
// record is not all in its pack (a deleted pack, a GC delete pebble did not
// keep) is dropped, so the block is missing rather than corrupt.
func TestPackCrashLeftovers(t *testing.T) {
	f := newDAGFixture(t)
	repo := t.TempDir()
	n := f.fetchInto(t, repo)
	leaf := dagBlocks(t, f.src.Blocks(), f.root)[1]
	packs := packFiles(t, n)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(filepath.Dir(packs[0]), "00000000000000ff.pack")
	if err := os.WriteFile(orphan, []byte("half a pack"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(packs[0], blobHeader+1000); err != nil { // the first record is torn
		t.Fatal(err)
	}
	n = startNode(t, nil, testKey(t), repo)
	if _, err := os.Stat(orphan); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("orphan pack still there (%v)", err)
	}
	if has, err := n.Blocks().bs.Has(context.Background(), leaf.Cid()); has || err != nil {
		t.Fatalf("Has(torn leaf) = %v, %v; want false: its entry is dropped", has, err)
	}
	st, err := n.Blocks().Verify(context.Background(), func(c cid.Cid, err error) { t.Errorf("bad block %s: %v", c, err) })
	if err != nil || st.Bad != 0 {
		t.Fatalf("Verify: %+v, %v", st, err)
	}
	// Dial the source now rather than race the reconnect to remembered peers.
	if err := n.Connect(context.Background(), f.src.Addrs()[0].String()); err != nil {
		t.Fatal(err)
	}
	if _, err := n.FetchDirect(context.Background(), f.src.ID(), f.root, 1<<30, nil); err != nil {
		t.Fatalf("fetching the DAG again: %v", err)
	}
	f.dst = n
	if got := f.exported(t); !bytes.Equal(got, f.data) {
		t.Fatal("refetched DAG differs")
	}
}

// A record whose bytes rot on disk is an error naming the block, from Get
// and from Verify.
func TestPackCorruptRecord(t *testing.T) {
	f := newDAGFixture(t)
	n := f.fetchInto(t, t.TempDir())
	leaf := dagBlocks(t, f.src.Blocks(), f.root)[1]
	e, ok := n.blocks.blobs.packs.lookup(blobKey(leaf.Cid().Hash()))
	if !ok {
		t.Fatalf("leaf %s is not packed", leaf.Cid())
	}
	pf, err := os.OpenFile(n.blocks.blobs.packs.path(e.id), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pf.WriteAt([]byte{0xff, 0x00}, e.off+blobHeader+500); err != nil {
		t.Fatal(err)
	}
	pf.Close()
	_, err = n.Blocks().bs.Get(context.Background(), leaf.Cid())
	if !errors.Is(err, ErrCorruptBlob) || !strings.Contains(err.Error(), leaf.Cid().String()) {
		t.Fatalf("Get: %v, want ErrCorruptBlob naming %s", err, leaf.Cid())
	}
	var bad []cid.Cid
	if _, err := n.Blocks().Verify(context.Background(), func(c cid.Cid, _ error) { bad = append(bad, c) }); err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || !bad[0].Equals(cid.NewCidV1(cid.Raw, leaf.Cid().Hash())) {
		t.Fatalf("Verify found %v, want only %s", bad, leaf.Cid())
	}
}

// When a server sends a corrupt block, the leaves verified before it are
// kept (packed and published), the corrupt one is not.
func TestFetchDirectKeepsPackedLeavesBeforeABadBlock(t *testing.T) {
	f := newDAGFixture(t)
	order := dagBlocks(t, f.src.Blocks(), f.root)
	good, bad := order[1], order[2]
	data := bytes.Clone(bad.RawData())
	data[7] ^= 1
	forged, _ := blocks.NewBlockWithCid(data, bad.Cid())
	evilServer(t, f.src, []blocks.Block{order[0], good, forged}, false)
	_, err := f.dst.FetchDirect(context.Background(), f.src.ID(), f.root, 1<<30, nil)
	if !errors.Is(err, ErrBadBlock) {
		t.Fatalf("err = %v, want ErrBadBlock", err)
	}
	assertNotStored(t, f.dst, bad.Cid())
	blk, err := f.dst.Blocks().bs.Get(context.Background(), good.Cid())
	if err != nil || !bytes.Equal(blk.RawData(), good.RawData()) {
		t.Fatalf("verified leaf %s before the bad block: %v", good.Cid(), err)
	}
	if _, ok := f.dst.blocks.blobs.packs.lookup(blobKey(good.Cid().Hash())); !ok {
		t.Fatalf("verified leaf %s is not in a pack", good.Cid())
	}
}

// GC compacts a pack it left mostly empty: the live leaf moves to a new
// pack of its own size and the old file goes, after a restart too.
func TestGCCompactsSparsePack(t *testing.T) {
	f := newDAGFixture(t)
	ctx := context.Background()
	data := randomBytes(4<<20, 41)
	root, err := f.src.Blocks().ImportBytes(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	n := startNode(t, nil, testKey(t), repo)
	connectAll(t, f.src, n)
	if _, err := n.FetchDirect(ctx, f.src.ID(), root, 1<<30, nil); err != nil {
		t.Fatal(err)
	}
	leaf, err := n.Blocks().ImportBytes(ctx, data[:1<<20]) // a one-block file: the first leaf itself
	if err != nil {
		t.Fatal(err)
	}
	old := packFiles(t, n)
	if _, ok := n.blocks.blobs.packs.lookup(blobKey(leaf.Hash())); !ok || len(old) != 1 {
		t.Fatalf("leaf %s not packed (packs %v)", leaf, old)
	}
	if err := n.Blocks().Pin(ctx, leaf); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Blocks().GC(ctx); err != nil {
		t.Fatal(err)
	}
	now := packFiles(t, n)
	if len(now) != 1 || now[0] == old[0] {
		t.Fatalf("packs %v after GC, want one new pack in place of %v", now, old)
	}
	if st, err := os.Stat(now[0]); err != nil || st.Size() != blobHeader+1<<20 {
		t.Fatalf("compacted pack: %v (%v), want %d bytes", st.Size(), err, blobHeader+1<<20)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = startNode(t, nil, testKey(t), repo)
	blk, err := n.Blocks().bs.Get(ctx, leaf)
	if err != nil || !bytes.Equal(blk.RawData(), data[:1<<20]) {
		t.Fatalf("pinned leaf after compaction and restart: %v", err)
	}
}

// A node serves a DAG it fetched (its leaves packed) to the next fetcher.
func TestServeDAGFromPacks(t *testing.T) {
	f := newDAGFixture(t)
	relay := f.fetchInto(t, t.TempDir())
	relay.ServeDAG()
	f.src = relay
	f.dst = newTestNode(t, nil)
	connectAll(t, relay, f.dst)
	if _, err := f.dst.FetchDirect(context.Background(), relay.ID(), f.root, 1<<30, nil); err != nil {
		t.Fatalf("fetch from the relay: %v", err)
	}
	if got := f.exported(t); !bytes.Equal(got, f.data) {
		t.Fatal("DAG served from packs differs")
	}
}

// A pack writer writing through the page cache starts write-back every
// packWriteBack bytes, on page boundaries only, and the leaves it wrote
// read back after the commit.
func TestPackWriteBack(t *testing.T) {
	n := newTestNode(t, nil)
	w := newPackWriter(n.blocks.blobs, false)
	var blks []blocks.Block
	for i := range 20 {
		blk := blocks.NewBlock(randomBytes(1<<20, uint64(100+i)))
		blk, _ = blocks.NewBlockWithCid(blk.RawData(), cid.NewCidV1(cid.Raw, blk.Cid().Hash()))
		if err := w.add(context.Background(), blk); err != nil {
			t.Fatal(err)
		}
		blks = append(blks, blk)
	}
	if w.sent < 2*packWriteBack || w.sent > w.off || w.sent%writeBackPage != 0 {
		t.Fatalf("write-back started for %d of %d bytes: want at least %d, on a page boundary",
			w.sent, w.off, 2*packWriteBack)
	}
	if err := w.commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, blk := range blks {
		got, err := n.Blocks().bs.Get(context.Background(), blk.Cid())
		if err != nil || !bytes.Equal(got.RawData(), blk.RawData()) {
			t.Fatalf("leaf %s after the commit: %v", blk.Cid(), err)
		}
	}
}

// Import appends a file's large leaves to one pack, as a direct fetch
// does, instead of writing a blob file each; the file reads back after a
// restart, and GC of the unpinned file deletes the pack.
func TestImportPacksLeaves(t *testing.T) {
	dir := t.TempDir()
	bl, err := OpenBlocks(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(3<<20+100, 41)
	root, err := bl.ImportBytes(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := ufs.CID(bytes.NewReader(data)); !root.Equals(want) {
		t.Fatalf("Import gave %s, the file's CID is %s", root, want)
	}
	if files, err := bl.blobs.files(); err != nil || len(files) != 0 {
		t.Fatalf("blob files %v (%v), want none: Import packs its leaves", files, err)
	}
	ents, err := os.ReadDir(bl.blobs.packs.dir)
	if err != nil || len(ents) != 1 {
		t.Fatalf("pack files %v (%v), want one", ents, err)
	}
	if err := bl.Close(); err != nil {
		t.Fatal(err)
	}
	if bl, err = OpenBlocks(dir, nil); err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	var got bytes.Buffer
	if err := bl.Export(context.Background(), root, &got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("the imported file reads back wrong after a restart (%v)", err)
	}
	if gc, err := bl.GC(context.Background()); err != nil || gc.Removed != 5 {
		t.Fatalf("GC removed %d blocks (%v), want the file's 5", gc.Removed, err)
	}
	if ents, _ := os.ReadDir(bl.blobs.packs.dir); len(ents) != 0 {
		t.Fatalf("pack files %v left after GC removed every block", ents)
	}
}

// A block a peer asked for by bitswap before this node had it is sent as
// soon as Import stores it, as when the blockservice stored each block:
// bitswap serves a want it has already looked up only when told of the
// block, or when the peer asks again.
func TestImportServesWantedBlock(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	connectAll(t, a, b)
	data := randomBytes(2<<20, 43)
	want, err := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}.Sum(data[:ufs.ChunkSize])
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	got := make(chan error, 1)
	go func() {
		_, err := b.Blocks().GetBlock(ctx, want)
		got <- err
	}()
	for !slices.Contains(a.blocks.bswap.WantlistForPeer(b.ID()), want) {
		if ctx.Err() != nil {
			t.Fatal("the peer's want never reached this node")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := a.Blocks().ImportBytes(context.Background(), data); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("the wanted block was not sent after the import: %v", err)
	}
}
