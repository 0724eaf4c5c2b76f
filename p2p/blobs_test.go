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

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"

	"github.com/coldnode/coldnode/p2p/ufs"
)

// blobFixture is a store opened from disk holding one UnixFS file of three
// 1 MiB leaves and a short last leaf (kept in pebble: under blobMin).
type blobFixture struct {
	dir  string
	bl   *Blocks
	data []byte
	root cid.Cid
}

func newBlobFixture(t *testing.T) *blobFixture {
	t.Helper()
	f := &blobFixture{dir: t.TempDir(), data: randomBytes(3<<20+100, 21)}
	f.reopen(t)
	var err error
	if f.root, err = importBlobs(f.bl, f.data); err != nil {
		t.Fatal(err)
	}
	return f
}

// importBlobs stores data as a UnixFS file block by block through the
// blockservice, as bitswap stores what it fetches: large leaves become blob
// files (Import appends them to a pack instead).
func importBlobs(bl *Blocks, data []byte) (cid.Cid, error) {
	return ufs.Import(context.Background(), bl.DAG(), bytes.NewReader(data))
}

// reopen closes the store (if open) and opens it again from disk.
func (f *blobFixture) reopen(t *testing.T) {
	t.Helper()
	if f.bl != nil {
		if err := f.bl.Close(); err != nil {
			t.Fatal(err)
		}
	}
	bl, err := OpenBlocks(f.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bl.Close() })
	f.bl = bl
}

// leaves returns the file's leaf CIDs, in order.
func (f *blobFixture) leaves(t *testing.T) []cid.Cid {
	t.Helper()
	var out []cid.Cid
	for _, blk := range dagBlocks(t, f.bl, f.root) {
		if blk.Cid().Prefix().Codec == cid.Raw {
			out = append(out, blk.Cid())
		}
	}
	return out
}

// blobFiles lists the block files in the store's blob directory.
func (f *blobFixture) blobFiles(t *testing.T) []string {
	t.Helper()
	paths, err := f.bl.blobs.files()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Base(p))
	}
	return out
}

func (f *blobFixture) blobPath(c cid.Cid) string {
	return filepath.Join(f.dir, "blobs", blobKey(c.Hash()))
}

// Large leaves go to files, the root and the short leaf to pebble; every
// block reads back through the blockstore, after a restart too.
func TestBlobStoreRoundTrip(t *testing.T) {
	f := newBlobFixture(t)
	leaves := f.leaves(t)
	if len(leaves) != 4 {
		t.Fatalf("%d leaves, want 4", len(leaves))
	}
	files := f.blobFiles(t)
	for _, c := range leaves[:3] {
		if !slices.Contains(files, blobKey(c.Hash())) {
			t.Fatalf("1 MiB leaf %s has no blob file (files %v)", c, files)
		}
	}
	if len(files) != 3 {
		t.Fatalf("%d blob files, want 3 (the short leaf and the root stay in pebble)", len(files))
	}
	f.reopen(t)
	checkExport(t, f.bl, f.root, f.data)
	ctx := context.Background()
	for _, c := range leaves {
		blk, err := f.bl.bs.Get(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := verify(c, blk.RawData()); err != nil {
			t.Fatal(err)
		}
		size, err := f.bl.bs.GetSize(ctx, c)
		if err != nil || size != len(blk.RawData()) {
			t.Fatalf("GetSize(%s) = %d, %v; want %d", c, size, err, len(blk.RawData()))
		}
	}
	keys := allKeys(t, f.bl)
	for _, blk := range dagBlocks(t, f.bl, f.root) {
		if !keys[string(blk.Cid().Hash())] {
			t.Fatalf("AllKeysChan misses block %s", blk.Cid())
		}
	}
}

func allKeys(t *testing.T, bl *Blocks) map[string]bool {
	t.Helper()
	ch, err := bl.bs.AllKeysChan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for c := range ch {
		out[string(c.Hash())] = true
	}
	return out
}

// GC deletes the blob files of unpinned DAGs and keeps the pinned ones.
func TestGCRemovesBlobFiles(t *testing.T) {
	f := newBlobFixture(t)
	ctx := context.Background()
	other, err := importBlobs(f.bl, randomBytes(2<<20, 22))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.bl.Pin(ctx, f.root); err != nil {
		t.Fatal(err)
	}
	if n := len(f.blobFiles(t)); n != 5 {
		t.Fatalf("%d blob files before GC, want 5", n)
	}
	st, err := f.bl.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Removed != 3 || st.Freed < 2<<20 {
		t.Fatalf("GC removed %d blocks, %d bytes; want the other DAG's 3 blocks, over 2 MiB", st.Removed, st.Freed)
	}
	files := f.blobFiles(t)
	if len(files) != 3 {
		t.Fatalf("%d blob files after GC, want the pinned file's 3: %v", len(files), files)
	}
	if has, _ := f.bl.bs.Has(ctx, other); has {
		t.Fatalf("unpinned root %s survived GC", other)
	}
	checkExport(t, f.bl, f.root, f.data)
	if err := f.bl.Unpin(ctx, f.root); err != nil {
		t.Fatal(err)
	}
	if _, err := f.bl.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if files := f.blobFiles(t); len(files) != 0 {
		t.Fatalf("blob files left after unpinning everything: %v", files)
	}
}

// A truncated, bit-flipped or emptied blob file is an error that wraps
// ErrCorruptBlob and names the block; it is never returned as the block.
func TestCorruptBlobDetected(t *testing.T) {
	damage := map[string]func([]byte) []byte{
		"truncated": func(b []byte) []byte { return b[:len(b)-1000] },
		"bit flip":  func(b []byte) []byte { b[len(b)/2] ^= 1; return b },
		"empty":     func(b []byte) []byte { return nil },
		"header":    func(b []byte) []byte { b[0] = 'x'; return b },
		"extended":  func(b []byte) []byte { return append(b, 0) },
	}
	for name, fn := range damage {
		t.Run(name, func(t *testing.T) {
			f := newBlobFixture(t)
			leaf := f.leaves(t)[1]
			raw, err := os.ReadFile(f.blobPath(leaf))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.blobPath(leaf), fn(raw), 0o600); err != nil {
				t.Fatal(err)
			}
			blk, err := f.bl.bs.Get(context.Background(), leaf)
			if !errors.Is(err, ErrCorruptBlob) || !strings.Contains(err.Error(), leaf.String()) {
				t.Fatalf("Get = %v, %v; want ErrCorruptBlob naming %s", blk, err, leaf)
			}
			err = f.bl.Export(context.Background(), f.root, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), leaf.String()) {
				t.Fatalf("Export = %v; want an error naming %s", err, leaf)
			}
			if _, _, err = f.bl.ReadInto(context.Background(), f.root, nil, 1<<30); !errors.Is(err, ErrCorruptBlob) || !strings.Contains(err.Error(), leaf.String()) {
				t.Fatalf("ReadInto = %v; want ErrCorruptBlob naming %s", err, leaf)
			}
			if name != "truncated" && name != "extended" && name != "empty" {
				return
			}
			// Storing the block again (a re-fetch) replaces a file of the wrong size.
			if err := f.bl.bs.Put(context.Background(), rawBlock(t, raw[blobHeader:])); err != nil {
				t.Fatal(err)
			}
			checkExport(t, f.bl, f.root, f.data)
		})
	}
}

// Files a crash left in tmp/ (a half-written block, even under a block's
// own name) are never read, and the next open removes them.
func TestBlobTempLeftoverIgnored(t *testing.T) {
	f := newBlobFixture(t)
	ctx := context.Background()
	orphan := rawBlock(t, randomBytes(1<<20, 23))
	tmp := filepath.Join(f.dir, "blobs", blobTmp)
	half := append(blobHeaderOf(orphan.RawData()), orphan.RawData()[:4096]...)
	for _, name := range []string{"put-123", blobKey(orphan.Cid().Hash())} {
		if err := os.WriteFile(filepath.Join(tmp, name), half, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if has, err := f.bl.bs.Has(ctx, orphan.Cid()); has || err != nil {
		t.Fatalf("Has(half-written block) = %v, %v", has, err)
	}
	if _, err := f.bl.bs.Get(ctx, orphan.Cid()); !ipld.IsNotFound(err) {
		t.Fatalf("Get(half-written block) = %v, want not found", err)
	}
	if allKeys(t, f.bl)[string(orphan.Cid().Hash())] {
		t.Fatal("AllKeysChan lists the half-written block")
	}
	f.reopen(t)
	left, err := os.ReadDir(tmp)
	if err != nil || len(left) != 0 {
		t.Fatalf("tmp/ after reopening holds %d files (%v), want none", len(left), err)
	}
	checkExport(t, f.bl, f.root, f.data)
	if err := f.bl.bs.Put(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	got, err := f.bl.bs.Get(ctx, orphan.Cid())
	if err != nil || !bytes.Equal(got.RawData(), orphan.RawData()) {
		t.Fatalf("block put after the crash reads back wrong (%v)", err)
	}
}

// The hybrid store keeps small raw blocks in pebble, finds a block put
// under one codec when asked with another, and deletes from both places.
func TestHybridStorePlacement(t *testing.T) {
	f := newBlobFixture(t)
	ctx := context.Background()
	small := rawBlock(t, randomBytes(blobMin-1, 24))
	big := rawBlock(t, randomBytes(blobMin, 25))
	if err := f.bl.bs.PutMany(ctx, []blocks.Block{small, big}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.blobPath(small.Cid())); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("block of %d bytes has a blob file (%v)", blobMin-1, err)
	}
	if _, err := os.Stat(f.blobPath(big.Cid())); err != nil {
		t.Fatalf("block of %d bytes has no blob file: %v", blobMin, err)
	}
	asPB := cid.NewCidV1(cid.DagProtobuf, big.Cid().Hash())
	if has, err := f.bl.bs.Has(ctx, asPB); !has || err != nil {
		t.Fatalf("Has(%s) = %v, %v; the same multihash is stored", asPB, has, err)
	}
	for _, blk := range []blocks.Block{small, big} {
		if err := f.bl.bs.DeleteBlock(ctx, blk.Cid()); err != nil {
			t.Fatal(err)
		}
		if has, _ := f.bl.bs.Has(ctx, blk.Cid()); has {
			t.Fatalf("block %s still there after DeleteBlock", blk.Cid())
		}
	}
}

// A machine crash can leave a renamed but unsynced file torn. While such
// files may exist the marker is there, and opening the store then deletes
// every torn file before anything reads it; after a sync the marker is
// gone and opening scans nothing.
func TestBlobCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	s, _, err := openBlobStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	blks := []blocks.Block{rawBlock(t, randomBytes(1<<20, 31)), rawBlock(t, randomBytes(1<<20, 32)), rawBlock(t, randomBytes(1<<20, 33))}
	if err := s.put(blks); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, blobUnsynced)
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("no marker while files are unsynced: %v", err)
	}
	// The crash: the second file's data never reached the disk.
	torn := s.name(blks[1].Cid().Hash())
	if err := os.WriteFile(torn, make([]byte, 1<<20+blobHeader), 0o600); err != nil {
		t.Fatal(err)
	}
	s, n, err := openBlobStore(dir)
	if err != nil || n != 1 {
		t.Fatalf("reopen deleted %d torn files (%v), want 1", n, err)
	}
	if has, _ := s.has(blks[1].Cid()); has {
		t.Fatalf("torn block %s is visible after recovery", blks[1].Cid())
	}
	for _, blk := range []blocks.Block{blks[0], blks[2]} {
		got, err := s.get(blk.Cid())
		if err != nil || !bytes.Equal(got.RawData(), blk.RawData()) {
			t.Fatalf("intact block %s after recovery: %v", blk.Cid(), err)
		}
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("marker left after recovery (%v)", err)
	}
	// Synced and closed cleanly: damage now is not a crash's doing, so
	// opening does not look; reading the block reports it.
	if err := os.WriteFile(s.name(blks[0].Cid().Hash()), []byte("cnb1"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, n, err = openBlobStore(dir)
	if err != nil || n != 0 {
		t.Fatalf("reopen after a clean close deleted %d files (%v), want 0", n, err)
	}
	if _, err := s.get(blks[0].Cid()); !errors.Is(err, ErrCorruptBlob) {
		t.Fatalf("Get(damaged) = %v, want ErrCorruptBlob", err)
	}
}

// Pinning makes the blocks stored so far durable: the marker goes.
func TestPinSyncsBlobs(t *testing.T) {
	f := newBlobFixture(t)
	marker := filepath.Join(f.dir, "blobs", blobUnsynced)
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("no marker after an import: %v", err)
	}
	if err := f.bl.Pin(context.Background(), f.root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("marker still there after Pin (%v)", err)
	}
}
