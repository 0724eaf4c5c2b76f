package p2p

import (
	"context"
	"errors"
	"testing"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	unixfspb "github.com/ipfs/boxo/ipld/unixfs/pb"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// FuzzLinks feeds arbitrary bytes, as dag-pb and as dag-cbor blocks, to the
// link and size readers that Fetch and GC run on blocks from peers: they
// must return errors, never panic.
func FuzzLinks(f *testing.F) {
	pn := merkledag.NodeWithData([]byte{0x08, 0x02, 0x18, 0x05})
	f.Add(pn.RawData())
	f.Add([]byte{0xa1, 0x61, 'f', 0xd8, 0x2a, 0x45, 0x00, 0x01, 0x55, 0x00, 0x00})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, codec := range []uint64{cid.DagProtobuf, cid.DagCBOR, cid.Raw} {
			c, err := cid.Prefix{Version: 1, Codec: codec, MhType: mh.SHA2_256, MhLength: -1}.Sum(data)
			if err != nil {
				t.Fatal(err)
			}
			blk, _ := blocks.NewBlockWithCid(data, c)
			links(blk)
			dataBytes(blk)
			declaredSize(blk)
		}
	})
}

// TestFetchCapsRepeatedBlocks builds a root that lies about its size and
// links one 16 KiB leaf 1,000 times (16 MB once exported): Fetch must stop
// at the cap, not trust the declared size or the 16 KiB actually moved.
func TestFetchCapsRepeatedBlocks(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	connectAll(t, a, b)
	ctx := context.Background()
	leaf := merkledag.NewRawNode(randomBytes(16<<10, 15))
	fs := unixfs.NewFSNode(unixfspb.Data_File)
	root := new(merkledag.ProtoNode)
	for range 1000 {
		if err := root.AddNodeLink("", leaf); err != nil {
			t.Fatal(err)
		}
		fs.AddBlockSize(16) // declares 16 KB in all
	}
	data, _ := fs.GetBytes()
	root.SetData(data)
	root.SetCidBuilder(cid.V1Builder{Codec: cid.DagProtobuf, MhType: mh.SHA2_256})
	for _, blk := range []blocks.Block{leaf, root} {
		if err := a.Blocks().PutBlock(ctx, blk); err != nil {
			t.Fatal(err)
		}
	}
	_, err := b.Blocks().Fetch(ctx, root.Cid(), 1<<20, nil)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}
