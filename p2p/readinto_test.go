package p2p

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// ReadInto gives the bytes Export writes for every shape of stored file:
// leaves in a pack (Import), in blob files (what bitswap stores), a short
// last leaf in pebble, a file of one raw block, and a DAG two levels deep;
// with room enough it reads into the caller's memory.
func TestReadIntoMatchesExport(t *testing.T) {
	ctx := context.Background()
	bl, err := OpenBlocks(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	packed, err := bl.ImportBytes(ctx, randomBytes(3<<20+100, 51))
	if err != nil {
		t.Fatal(err)
	}
	files, err := importBlobs(bl, randomBytes(2<<20+7, 52))
	if err != nil {
		t.Fatal(err)
	}
	small, err := bl.ImportBytes(ctx, randomBytes(1000, 53))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bl.ReadInto(ctx, packed, nil, 3<<20); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadInto of a 3 MiB+100 file capped at 3 MiB = %v, want ErrTooLarge", err)
	}
	for name, c := range map[string]cid.Cid{"pack": packed, "blob files": files, "one raw block": small, "two levels": twoLevelFile(t, bl)} {
		var want bytes.Buffer
		if err := bl.Export(ctx, c, &want); err != nil {
			t.Fatal(err)
		}
		got, _, err := bl.ReadInto(ctx, c, nil, 1<<30)
		if err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%s: ReadInto gave %d bytes (%v), Export %d", name, len(got), err, want.Len())
		}
		dst := make([]byte, want.Len()+ReadIntoHeadroom)
		got, _, err = bl.ReadInto(ctx, c, dst, 1<<30)
		if err != nil || !bytes.Equal(got, want.Bytes()) || &got[0] != &dst[ReadIntoHeadroom] && name != "one raw block" {
			t.Fatalf("%s: ReadInto into room enough (%v): wrong bytes or not in the memory given", name, err)
		}
	}
}

// twoLevelFile stores a UnixFS file whose root links two dag-pb nodes of
// two raw leaves each (files this large are never imported in tests).
func twoLevelFile(t *testing.T, bl *Blocks) cid.Cid {
	t.Helper()
	ctx := context.Background()
	root := unixfs.NewFSNode(unixfs.TFile)
	rootNode := new(merkledag.ProtoNode)
	for i := range 2 {
		mid := unixfs.NewFSNode(unixfs.TFile)
		midNode := new(merkledag.ProtoNode)
		for j := range 2 {
			leaf := rawBlock(t, randomBytes(70000+j, uint64(60+2*i+j)))
			if err := bl.bs.Put(ctx, leaf); err != nil {
				t.Fatal(err)
			}
			mid.AddBlockSize(uint64(len(leaf.RawData())))
			midNode.AddRawLink("", &ipld.Link{Cid: leaf.Cid(), Size: uint64(len(leaf.RawData()))})
		}
		midNode.SetData(mustBytes(t, mid))
		if err := bl.dag.Add(ctx, midNode); err != nil {
			t.Fatal(err)
		}
		root.AddBlockSize(mid.FileSize())
		rootNode.AddRawLink("", &ipld.Link{Cid: midNode.Cid(), Size: mid.FileSize()})
	}
	rootNode.SetData(mustBytes(t, root))
	if err := bl.dag.Add(ctx, rootNode); err != nil {
		t.Fatal(err)
	}
	return rootNode.Cid()
}

func mustBytes(t *testing.T, n *unixfs.FSNode) []byte {
	t.Helper()
	b, err := n.GetBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A leaf that is not stored is ipld.ErrNotFound: ReadInto never fetches.
func TestReadIntoNeverFetches(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	connectAll(t, a, b)
	root, err := a.Blocks().ImportBytes(context.Background(), randomBytes(2<<20, 54))
	if err != nil {
		t.Fatal(err)
	}
	rootBlk, err := a.blocks.bs.Get(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.blocks.bs.Put(context.Background(), rootBlk); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Blocks().ReadInto(context.Background(), root, nil, 1<<30); !ipld.IsNotFound(err) {
		t.Fatalf("ReadInto of a file whose leaves a peer holds = %v, want ErrNotFound", err)
	}
}

// A file whose dag-pb node misstates its leaves' sizes (the total right)
// reads as Export reads it: ReadInto finds a leaf of another size and
// falls back instead of calling the store corrupt.
func TestReadIntoMisstatedSizes(t *testing.T) {
	ctx := context.Background()
	bl, err := OpenBlocks(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	fsn := unixfs.NewFSNode(unixfs.TFile)
	nd := new(merkledag.ProtoNode)
	for i, n := range []int{70000, 70001} {
		leaf := rawBlock(t, randomBytes(n, uint64(70+i)))
		if err := bl.bs.Put(ctx, leaf); err != nil {
			t.Fatal(err)
		}
		fsn.AddBlockSize(uint64(140001 - n)) // swapped: 70001, then 70000
		nd.AddRawLink("", &ipld.Link{Cid: leaf.Cid(), Size: uint64(n)})
	}
	nd.SetData(mustBytes(t, fsn))
	if err := bl.dag.Add(ctx, nd); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	wantErr := bl.Export(ctx, nd.Cid(), &want)
	got, _, err := bl.ReadInto(ctx, nd.Cid(), nil, 1<<30)
	if (err == nil) != (wantErr == nil) || errors.Is(err, ErrCorruptBlob) || err == nil && !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("ReadInto = %d bytes, %v; Export = %d bytes, %v", len(got), err, want.Len(), wantErr)
	}
}
