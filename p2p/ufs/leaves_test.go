package ufs

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	chunker "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	"github.com/ipfs/go-cid"
)

// referenceCID builds the DAG of data with boxo alone: the profile's own
// CID builder hashing every node, and boxo's size splitter.
func referenceCID(t *testing.T, data []byte) cid.Cid {
	t.Helper()
	params := helpers.DagBuilderParams{
		Maxlinks:   profile.FileDAGWidth,
		RawLeaves:  profile.RawLeaves,
		CidBuilder: profile.CidBuilder(),
		Dagserv:    discard{},
	}
	db, err := params.New(chunker.NewSizeSplitter(bytes.NewReader(data), profile.ChunkSize))
	if err != nil {
		t.Fatal(err)
	}
	root, err := balanced.Layout(db)
	if err != nil {
		t.Fatal(err)
	}
	return root.Cid()
}

// Leaves hashed ahead of the builder, several at once, give the CIDs boxo
// gives hashing each node itself, for files of one to nine leaves, and
// every leaf's CID came from those digests.
func TestLeafDigestsGiveBoxosCIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, ChunkSize, 2*ChunkSize + 1, 3 * ChunkSize, 5*ChunkSize - 7, 8 * ChunkSize, 9*ChunkSize + 100} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		want := referenceCID(t, data)
		for name, spl := range map[string]chunker.Splitter{
			"slices": &sliceSplitter{b: data},
			"reader": chunker.NewSizeSplitter(bytes.NewReader(data), profile.ChunkSize),
		} {
			sums := newLeafSums(spl)
			got, err := buildWith(context.Background(), discard{}, sums)
			if err != nil || !got.Equals(want) {
				t.Fatalf("%d bytes, %s: %s (%v), boxo %s", n, name, got, err, want)
			}
			if leaves := (n + ChunkSize - 1) / ChunkSize; sums.used != leaves {
				t.Fatalf("%d bytes, %s: %d of %d leaf CIDs from the digests", n, name, sums.used, leaves)
			}
		}
	}
}

// A leaf the splitter did not hand out last is hashed by the prefix.
func TestLeafBuilderHashesOtherData(t *testing.T) {
	sums := newLeafSums(&sliceSplitter{b: bytes.Repeat([]byte{7}, 3*ChunkSize)})
	b, err := newLeafBuilder(profile.CidBuilder(), sums)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := sums.NextBytes()
	other := bytes.Clone(leaf)
	other[0] = 8
	raw := b.WithCodec(cid.Raw)
	got, err := raw.Sum(other)
	want, _ := profile.CidBuilder().WithCodec(cid.Raw).Sum(other)
	if err != nil || !got.Equals(want) || sums.used != 0 {
		t.Fatalf("Sum of other data = %s (%v), want %s; %d digests used", got, err, want, sums.used)
	}
}
