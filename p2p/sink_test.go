package p2p

import (
	"bytes"
	"context"
	"testing"
	"time"
	"unsafe"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// sinkFixture is a server holding a file of distinct leaves and a
// connected client.
func sinkFixture(t *testing.T, data []byte) (*dagFixture, context.Context) {
	t.Helper()
	f := &dagFixture{src: newTestNode(t, nil), dst: newTestNode(t, nil), data: data}
	f.src.ServeDAG()
	var err error
	if f.root, err = f.src.Blocks().ImportBytes(context.Background(), f.data); err != nil {
		t.Fatal(err)
	}
	connectAll(t, f.src, f.dst)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return f, ctx
}

func (f *dagFixture) fetchFromInto(ctx context.Context, root cid.Cid, into *[]byte, max int64) ([]byte, error) {
	_, data, err := f.dst.FetchFromInto(ctx, []peer.ID{f.src.ID()}, root, 1<<30, nil, into, max)
	return data, err
}

// A direct fetch gathers the file in the lent memory, grown once to its
// size and reused by the next fetch, and stores it as FetchFrom does.
func TestFetchFromIntoGathersTheFile(t *testing.T) {
	f, ctx := sinkFixture(t, append(randomBytes(5<<20, 11), 9, 8, 7))
	var into []byte
	data, err := f.fetchFromInto(ctx, f.root, &into, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, f.data) {
		t.Fatalf("gathered %d bytes, want the %d imported", len(data), len(f.data))
	}
	if unsafe.SliceData(data) != unsafe.SliceData(into) {
		t.Fatal("the file was not gathered in the lent memory")
	}
	if got := f.exported(t); !bytes.Equal(got, f.data) {
		t.Fatal("the stored file differs from the gathered one")
	}
	smaller := randomBytes(3<<20, 12)
	root, err := f.src.Blocks().ImportBytes(ctx, smaller)
	if err != nil {
		t.Fatal(err)
	}
	mem := unsafe.SliceData(into)
	if data, err = f.fetchFromInto(ctx, root, &into, 1<<30); err != nil || !bytes.Equal(data, smaller) {
		t.Fatalf("second fetch: %d bytes (%v), want %d", len(data), err, len(smaller))
	}
	if unsafe.SliceData(data) != mem {
		t.Fatal("the second fetch did not reuse the memory of the first")
	}
}

// A one-leaf file has no root to declare its size first.
func TestFetchFromIntoSingleLeaf(t *testing.T) {
	small := []byte("one raw leaf is the whole file")
	f, ctx := sinkFixture(t, small)
	var into []byte
	data, err := f.fetchFromInto(ctx, f.root, &into, 1<<30)
	if err != nil || !bytes.Equal(data, small) {
		t.Fatalf("gathered %q (%v), want %q", data, err, small)
	}
}

// What the sink cannot stand for is fetched and stored all the same, and
// left to be read from the store: a leaf the DAG repeats (sent once), a
// file over the memory allowed, and a fetch over bitswap.
func TestFetchFromIntoLeavesOtherShapesToTheStore(t *testing.T) {
	f := newDAGFixture(t) // its file repeats a leaf
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var into []byte
	data, err := f.fetchFromInto(ctx, f.root, &into, 1<<30)
	if err != nil || data != nil {
		t.Fatalf("a file with a repeated leaf: gathered %d bytes (%v), want none", len(data), err)
	}
	if got := f.exported(t); !bytes.Equal(got, f.data) {
		t.Fatal("the file with a repeated leaf was not stored")
	}

	g, ctx := sinkFixture(t, randomBytes(3<<20, 13))
	into = nil
	if data, err = g.fetchFromInto(ctx, g.root, &into, int64(len(g.data))-1); err != nil || data != nil {
		t.Fatalf("a file over the memory allowed: gathered %d bytes (%v), want none", len(data), err)
	}
	if cap(into) != 0 {
		t.Fatalf("the memory grew to %d bytes past the %d allowed", cap(into), len(g.data)-1)
	}
	if got := g.exported(t); !bytes.Equal(got, g.data) {
		t.Fatal("the file over the memory allowed was not stored")
	}

	h, ctx := sinkFixture(t, randomBytes(2<<20, 14))
	h.src.Host().RemoveStreamHandler(DAGProtocol)
	if data, err = h.fetchFromInto(ctx, h.root, &into, 1<<30); err != nil || data != nil {
		t.Fatalf("over bitswap: gathered %d bytes (%v), want none", len(data), err)
	}
	if got := h.exported(t); !bytes.Equal(got, h.data) {
		t.Fatal("the file fetched over bitswap was not stored")
	}
}

// A corrupt leaf from the direct peer is never handed back gathered:
// the fetch falls back to bitswap, which stores the right bytes, and the
// caller reads them from the store.
func TestFetchFromIntoNeverGathersACorruptLeaf(t *testing.T) {
	f, ctx := sinkFixture(t, randomBytes(3<<20, 15))
	order := dagBlocks(t, f.src.Blocks(), f.root)
	last := len(order) - 1 // every byte of the file reaches the sink
	data := bytes.Clone(order[last].RawData())
	data[100] ^= 1
	forged, _ := blocks.NewBlockWithCid(data, order[last].Cid())
	evilServer(t, f.src, append(append([]blocks.Block{}, order[:last]...), forged), false)
	var into []byte
	got, err := f.fetchFromInto(ctx, f.root, &into, 1<<30)
	if err != nil || got != nil {
		t.Fatalf("gathered %d bytes (%v), want none and the fetch done over bitswap", len(got), err)
	}
	if stored := f.exported(t); !bytes.Equal(stored, f.data) {
		t.Fatal("the stored file differs from the imported one")
	}
}
