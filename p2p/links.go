package p2p

import (
	"bytes"
	"fmt"

	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	"github.com/ipld/go-ipld-prime/traversal"
)

// links returns the CIDs a block links to: dag-pb links, every link inside a
// dag-cbor record, none for raw and other codecs.
func links(blk blocks.Block) ([]cid.Cid, error) {
	switch blk.Cid().Prefix().Codec {
	case cid.DagProtobuf:
		pn, err := merkledag.DecodeProtobuf(blk.RawData())
		if err != nil {
			return nil, fmt.Errorf("decode dag-pb %s: %w", blk.Cid(), err)
		}
		out := make([]cid.Cid, 0, len(pn.Links()))
		for _, l := range pn.Links() {
			out = append(out, l.Cid)
		}
		return out, nil
	case cid.DagCBOR:
		return cborLinks(blk)
	default:
		return nil, nil
	}
}

func cborLinks(blk blocks.Block) ([]cid.Cid, error) {
	nb := basicnode.Prototype.Any.NewBuilder()
	if err := dagcbor.Decode(nb, bytes.NewReader(blk.RawData())); err != nil {
		return nil, fmt.Errorf("decode dag-cbor %s: %w", blk.Cid(), err)
	}
	ls, err := traversal.SelectLinks(nb.Build())
	if err != nil {
		return nil, fmt.Errorf("links of %s: %w", blk.Cid(), err)
	}
	out := make([]cid.Cid, 0, len(ls))
	for _, l := range ls {
		if cl, ok := l.(cidlink.Link); ok {
			out = append(out, cl.Cid)
		}
	}
	return out, nil
}

// dataBytes is how many bytes of file content a block carries.
func dataBytes(blk blocks.Block) int64 {
	if blk.Cid().Prefix().Codec != cid.DagProtobuf {
		return int64(len(blk.RawData()))
	}
	fs, ok := unixfsNode(blk)
	if !ok {
		return 0
	}
	return int64(len(fs.Data()))
}
