package ufs

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs/boxo/blockservice"
	blockstore "github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	ipld "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"
)

// vectors are the root CIDs kubo gives for these files with
// --cid-version=1 --raw-leaves --chunker=size-1048576 (1024 links, balanced);
// taken from the project's dependency notes.
var vectors = []struct {
	path string
	size int64
	want string
}{
	{"sst2/train.jsonl", 932688, "bafkreie7p52czp7sw3jb7oswyre7s75jopwxj2cu2qyj3pbebntpyi2dhu"},
	{"mnist_small/train.jsonl", 2779046, "bafybeiao5xf4zgwunodcabeghph26irgnu2duh7cia44lbwsls46gkt7a4"},
}

func datasetPath(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "datasets", rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test vector %s missing (expected the shared datasets next to the repo): %v", p, err)
	}
	return p
}

func TestCIDVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.path, func(t *testing.T) {
			f, err := os.Open(datasetPath(t, v.path))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if st, _ := f.Stat(); st.Size() != v.size {
				t.Fatalf("size %d, want %d: the dataset file changed", st.Size(), v.size)
			}
			got, err := CID(f)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != v.want {
				t.Fatalf("CID = %s, want %s", got, v.want)
			}
		})
	}
}

func TestCIDEmptyAndSmall(t *testing.T) {
	empty, err := CID(bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	// An empty file is a single empty raw leaf.
	if empty.Prefix().Codec != cid.Raw || empty.Version() != 1 {
		t.Fatalf("empty file CID %s: want a CIDv1 raw leaf", empty)
	}
	a, _ := CID(bytes.NewReader([]byte("a")))
	b, _ := CID(bytes.NewReader([]byte("b")))
	if a.Equals(b) || a.Equals(empty) {
		t.Fatalf("distinct inputs gave equal CIDs: %s %s %s", a, b, empty)
	}
}

func memDAG() (blockstore.Blockstore, ipld.DAGService) {
	bs := blockstore.NewBlockstore(dssync.MutexWrap(ds.NewMapDatastore()))
	return bs, merkledag.NewDAGService(blockservice.New(bs, nil))
}

func TestImportExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	// 3 full chunks and a partial one: a two-level DAG.
	data := make([]byte, 3*ChunkSize+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	bs, dag := memDAG()
	root, err := Import(ctx, dag, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := CID(bytes.NewReader(data))
	if !root.Equals(want) {
		t.Fatalf("Import root %s != CID %s", root, want)
	}
	n := 0
	keys, _ := bs.AllKeysChan(ctx)
	for range keys {
		n++
	}
	if n != 5 { // 4 leaves + 1 root
		t.Fatalf("stored %d blocks, want 5", n)
	}
	var out bytes.Buffer
	if err := Export(ctx, dag, root, &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("exported %d bytes differ from the %d imported", out.Len(), len(data))
	}
}

func TestExportMissingBlock(t *testing.T) {
	ctx := context.Background()
	_, dag := memDAG()
	c, _ := CID(bytes.NewReader([]byte("never stored")))
	err := Export(ctx, dag, c, &bytes.Buffer{})
	if !ipld.IsNotFound(err) {
		t.Fatalf("Export of a missing root: err = %v, want not found", err)
	}
}

func TestImportCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, dag := memDAG()
	_, err := Import(ctx, dag, bytes.NewReader(make([]byte, 2*ChunkSize)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestProfileIsTheFixedOne(t *testing.T) {
	p := Profile()
	if p.CIDVersion != 1 || !p.RawLeaves || p.ChunkSize != ChunkSize || p.FileDAGWidth != 1024 || p.MhType != mh.SHA2_256 {
		t.Fatalf("profile %+v is not CIDv1/raw leaves/1 MiB/1024 links/sha2-256", p)
	}
}

// ImportBytes builds the DAG Import builds of the same bytes, at every
// chunk boundary and for kubo's vectors, and the DAG reads back as them.
func TestImportBytesIsImport(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 12345, 4 * ChunkSize} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		want, err := Import(ctx, discard{}, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		_, dag := memDAG()
		got, err := ImportBytes(ctx, dag, data)
		if err != nil || !got.Equals(want) {
			t.Fatalf("%d bytes: ImportBytes %s (%v), Import %s", n, got, err, want)
		}
		var out bytes.Buffer
		if err := Export(ctx, dag, got, &out); err != nil || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("%d bytes: exported %d bytes (%v)", n, out.Len(), err)
		}
	}
	for _, v := range vectors {
		data, err := os.ReadFile(datasetPath(t, v.path))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ImportBytes(ctx, discard{}, data)
		if err != nil || got.String() != v.want {
			t.Fatalf("%s: ImportBytes %s (%v), kubo %s", v.path, got, err, v.want)
		}
	}
}
