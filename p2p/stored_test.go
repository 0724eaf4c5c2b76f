package p2p

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
)

// Stored finds a whole file complete by its links alone, reports the size
// its root declares, and reports a file with a leaf gone, or an unknown
// root, as not stored.
func TestStoredWithoutFetching(t *testing.T) {
	ctx := context.Background()
	b, err := OpenBlocks(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data := make([]byte, 5<<20+123)
	rand.NewChaCha8([32]byte{1}).Read(data)
	c, err := b.ImportBytes(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	small, err := b.ImportBytes(ctx, []byte("one block"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c    cid.Cid
		size int64
	}{{c, int64(len(data))}, {small, 9}} {
		if n, ok, err := b.Stored(ctx, tc.c); err != nil || !ok || n != tc.size {
			t.Fatalf("Stored(%s) = %d, %v, %v; want %d, true", tc.c, n, ok, err, tc.size)
		}
	}
	unknown, err := cid.V1Builder{Codec: cid.DagProtobuf, MhType: c.Prefix().MhType}.Sum([]byte("never stored"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.Stored(ctx, unknown); ok || err != nil {
		t.Fatalf("an unknown root is stored (%v, %v)", ok, err)
	}
	root, err := b.bs.Get(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	kids, err := links(root)
	if err != nil || len(kids) < 2 {
		t.Fatalf("root has %d links (%v): want a multi-block file", len(kids), err)
	}
	if err := b.bs.DeleteBlock(ctx, kids[len(kids)/2]); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.Stored(ctx, c); ok || err != nil {
		t.Fatalf("a file with a leaf gone is stored (%v, %v)", ok, err)
	}
}

// A dag-cbor root is stored when its block is: Stored does not walk a
// record's links, which reach the whole chain, so a peer asking the DAG
// server for a record costs no walk of the history.
func TestStoredDoesNotWalkRecords(t *testing.T) {
	ctx := context.Background()
	b, err := OpenBlocks(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	missing, _ := cid.V1Builder{Codec: cid.DagCBOR, MhType: 0x12}.Sum([]byte("an absent parent"))
	rec := cborWithLink(t, missing)
	if err := b.PutBlock(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if n, ok, err := b.Stored(ctx, rec.Cid()); !ok || err != nil || n != int64(len(rec.RawData())) {
		t.Fatalf("Stored(record) = %d, %v, %v; want its block alone", n, ok, err)
	}
}

// cborWithLink is a dag-cbor block {"parent": to}.
func cborWithLink(t *testing.T, to cid.Cid) blocks.Block {
	t.Helper()
	nb := basicnode.Prototype.Map.NewBuilder()
	ma, err := nb.BeginMap(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := ma.AssembleKey().AssignString("parent"); err != nil {
		t.Fatal(err)
	}
	if err := ma.AssembleValue().AssignLink(cidlink.Link{Cid: to}); err != nil {
		t.Fatal(err)
	}
	if err := ma.Finish(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := dagcbor.Encode(nb.Build(), &buf); err != nil {
		t.Fatal(err)
	}
	c, err := cid.V1Builder{Codec: cid.DagCBOR, MhType: 0x12}.Sum(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	blk, err := blocks.NewBlockWithCid(buf.Bytes(), c)
	if err != nil {
		t.Fatal(err)
	}
	return blk
}
