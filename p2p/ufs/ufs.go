// Package ufs turns bytes into a UnixFS file DAG with one fixed profile and
// back again.
//
// The profile is the IPIP-499 "unixfs-v1-2025" profile taken from
// boxo's ufsio.UnixFS_v1_2025: CIDv1, sha2-256, raw leaves, fixed-size 1 MiB
// chunks, at most 1024 links per node, balanced layout, and no mode or mtime.
// The values are passed to the DAG builder per call; the package never calls
// Profile.ApplyGlobals, so it changes no process-wide state. The same bytes give
// the same root CID on every peer, and the same CID as
//
//	ipfs add --cid-version=1 --raw-leaves --chunker=size-1048576
//
// with 1024 links per node.
//
// The package owns DAG construction and reading only. It does not store,
// announce or fetch blocks: callers pass an ipld.DAGService (a blockservice
// backed by a blockstore, or a network-backed one) to Import and Export, and
// CID needs no store at all.
package ufs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	chunker "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	ufsio "github.com/ipfs/boxo/ipld/unixfs/io"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// profile is the import profile every coldnode peer uses. It is a copy, so
// nothing outside this package can change it.
var profile = ufsio.UnixFS_v1_2025

// Profile returns the import profile (a copy).
func Profile() ufsio.UnixFSProfile { return profile }

// ChunkSize is the size of every leaf block except the last one of a file.
const ChunkSize = 1 << 20

// CID returns the root CID of the UnixFS DAG of the bytes read from r, built
// with the profile. It needs no network and keeps no blocks.
func CID(r io.Reader) (cid.Cid, error) {
	return build(context.Background(), discard{}, r)
}

// Import chunks r into a UnixFS DAG with the profile, adds every node to ds and
// returns the root CID.
func Import(ctx context.Context, ds ipld.DAGService, r io.Reader) (cid.Cid, error) {
	if ds == nil {
		return cid.Undef, errors.New("ufs import: nil DAG service")
	}
	return build(ctx, ds, r)
}

// ImportBytes is Import of b, whose leaves are slices of b rather than
// copies: the same DAG with no copy and no chunk buffers. b must not
// change while ds may still read the nodes it was given.
func ImportBytes(ctx context.Context, ds ipld.DAGService, b []byte) (cid.Cid, error) {
	if ds == nil {
		return cid.Undef, errors.New("ufs import: nil DAG service")
	}
	return buildFrom(ctx, ds, &sliceSplitter{b: b})
}

// sliceSplitter cuts a byte slice as chunker.NewSizeSplitter cuts a
// reader of it: the profile's chunk size a chunk, the last one shorter, then
// io.EOF (at once for no bytes), handing out slices of b.
type sliceSplitter struct{ b []byte }

func (s *sliceSplitter) Reader() io.Reader { return bytes.NewReader(s.b) }

func (s *sliceSplitter) NextBytes() ([]byte, error) {
	if len(s.b) == 0 {
		return nil, io.EOF
	}
	n := min(int(profile.ChunkSize), len(s.b))
	c := s.b[:n:n]
	s.b = s.b[n:]
	return c, nil
}

func build(ctx context.Context, ds ipld.DAGService, r io.Reader) (cid.Cid, error) {
	if r == nil {
		return cid.Undef, errors.New("ufs: nil reader")
	}
	return buildFrom(ctx, ds, chunker.NewSizeSplitter(r, profile.ChunkSize))
}

func buildFrom(ctx context.Context, ds ipld.DAGService, spl chunker.Splitter) (cid.Cid, error) {
	return buildWith(ctx, ds, newLeafSums(spl))
}

// buildWith builds the DAG of the chunks sums hands out, each leaf's CID
// from the digest sums computed for it.
func buildWith(ctx context.Context, ds ipld.DAGService, sums *leafSums) (cid.Cid, error) {
	cb, err := newLeafBuilder(profile.CidBuilder(), sums)
	if err != nil {
		return cid.Undef, err
	}
	params := helpers.DagBuilderParams{
		Maxlinks:   profile.FileDAGWidth,
		RawLeaves:  profile.RawLeaves,
		CidBuilder: cb,
		Dagserv:    ctxDAG{ctx: ctx, DAGService: ds},
	}
	db, err := params.New(sums)
	if err != nil {
		return cid.Undef, fmt.Errorf("ufs: new DAG builder: %w", err)
	}
	root, err := balanced.Layout(db)
	if err != nil {
		return cid.Undef, fmt.Errorf("ufs: build DAG: %w", err)
	}
	return root.Cid(), nil
}

// Export writes the bytes of the UnixFS file rooted at c to w, reading nodes
// from ng (locally or over the network, depending on what ng is). Every node
// ng returns has been checked against its CID by the blockservice layer.
func Export(ctx context.Context, ng ipld.NodeGetter, c cid.Cid, w io.Writer) error {
	if ng == nil {
		return errors.New("ufs export: nil node getter")
	}
	nd, err := ng.Get(ctx, c)
	if err != nil {
		return fmt.Errorf("ufs export: get root %s: %w", c, err)
	}
	rd, err := ufsio.NewDagReader(ctx, nd, ng)
	if err != nil {
		return fmt.Errorf("ufs export: open %s as a UnixFS file: %w", c, err)
	}
	defer rd.Close()
	if _, err := rd.WriteTo(w); err != nil {
		return fmt.Errorf("ufs export: read %s: %w", c, err)
	}
	return nil
}
