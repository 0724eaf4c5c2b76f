package p2p

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// dagFixture is a server holding a multi-block UnixFS file (with a
// repeated leaf, so the protocol's skipping of duplicates is exercised)
// and a connected client.
type dagFixture struct {
	src, dst *Node
	data     []byte
	root     cid.Cid
}

func newDAGFixture(t *testing.T) *dagFixture {
	t.Helper()
	f := &dagFixture{src: newTestNode(t, nil), dst: newTestNode(t, nil)}
	f.src.ServeDAG()
	chunk := randomBytes(1<<20, 7)
	f.data = append(append(append([]byte{}, chunk...), randomBytes(3<<20, 8)...), chunk...)
	f.data = append(f.data, 1, 2, 3) // a short last leaf
	var err error
	if f.root, err = f.src.Blocks().ImportBytes(context.Background(), f.data); err != nil {
		t.Fatal(err)
	}
	connectAll(t, f.src, f.dst)
	return f
}

func (f *dagFixture) exported(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.dst.Blocks().Export(ctx, f.root, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dagBlocks lists the blocks of root in protocol order from b's store.
func dagBlocks(t *testing.T, b *Blocks, root cid.Cid) []blocks.Block {
	t.Helper()
	var o dagOrder
	o.start(root)
	var out []blocks.Block
	for c, ok := o.next(); ok; c, ok = o.next() {
		blk, err := b.bs.Get(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		kids, err := links(blk)
		if err != nil {
			t.Fatal(err)
		}
		o.push(kids)
		out = append(out, blk)
	}
	return out
}

func TestFetchDirectBytes(t *testing.T) {
	f := newDAGFixture(t)
	var last, total int64
	n, err := f.dst.FetchDirect(context.Background(), f.src.ID(), f.root, int64(len(f.data)),
		func(done, tot int64) { last, total = done, tot })
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(f.data)) || total != n {
		t.Fatalf("fetched %d bytes, root declares %d, want %d", n, total, len(f.data))
	}
	if want := int64(len(f.data)) - 1<<20; last != want { // the repeated leaf comes once
		t.Fatalf("progress ended at %d, want %d distinct bytes", last, want)
	}
	if got := f.exported(t); !bytes.Equal(got, f.data) {
		t.Fatalf("exported %d bytes differ from the %d imported", len(got), len(f.data))
	}
}

func TestFetchDirectSingleBlock(t *testing.T) {
	f := newDAGFixture(t)
	small := []byte("one raw leaf is the whole file")
	root, err := f.src.Blocks().ImportBytes(context.Background(), small)
	if err != nil {
		t.Fatal(err)
	}
	n, err := f.dst.FetchDirect(context.Background(), f.src.ID(), root, 1<<10, nil)
	if err != nil || n != int64(len(small)) {
		t.Fatalf("fetched %d bytes (%v), want %d", n, err, len(small))
	}
}

func TestFetchDirectSizeCap(t *testing.T) {
	f := newDAGFixture(t)
	_, err := f.dst.FetchDirect(context.Background(), f.src.ID(), f.root, int64(len(f.data))-1, nil)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestFetchDirectRefused(t *testing.T) {
	f := newDAGFixture(t)
	other, err := newTestNode(t, nil).Blocks().ImportBytes(context.Background(), []byte("elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.dst.FetchDirect(context.Background(), f.src.ID(), other, 1<<20, nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), other.String()) {
		t.Fatalf("err = %v, want ErrRefused naming %s", err, other)
	}
}

// evilServer answers DAGProtocol on n with the given frames (CID, data),
// then, when stall is set, keeps the stream open until the test ends.
func evilServer(t *testing.T, n *Node, frames []blocks.Block, stall bool) {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	n.Host().SetStreamHandler(DAGProtocol, func(s network.Stream) {
		defer s.Close()
		if _, err := readCID(bufio.NewReader(s)); err != nil {
			return
		}
		w := bufio.NewWriter(s)
		w.WriteByte(statusOK)
		for _, blk := range frames {
			writeFrame(w, blk.Cid().Bytes(), blk.RawData())
		}
		w.Flush()
		if stall {
			<-hold
		}
	})
}

func TestFetchDirectRejectsCorruptBlock(t *testing.T) {
	f := newDAGFixture(t)
	order := dagBlocks(t, f.src.Blocks(), f.root)
	bad := order[1]
	data := bytes.Clone(bad.RawData())
	data[100] ^= 1
	forged, _ := blocks.NewBlockWithCid(data, bad.Cid())
	evilServer(t, f.src, []blocks.Block{order[0], forged}, false)
	_, err := f.dst.FetchDirect(context.Background(), f.src.ID(), f.root, 1<<30, nil)
	if !errors.Is(err, ErrBadBlock) || !strings.Contains(err.Error(), bad.Cid().String()) {
		t.Fatalf("err = %v, want ErrBadBlock naming %s", err, bad.Cid())
	}
	assertNotStored(t, f.dst, bad.Cid())
}

func TestFetchDirectRejectsBlockNotInDAG(t *testing.T) {
	f := newDAGFixture(t)
	order := dagBlocks(t, f.src.Blocks(), f.root)
	stranger := blocks.NewBlock([]byte("a valid block from another DAG"))
	evilServer(t, f.src, []blocks.Block{order[0], stranger}, false)
	_, err := f.dst.FetchDirect(context.Background(), f.src.ID(), f.root, 1<<30, nil)
	if !errors.Is(err, ErrNotInDAG) || !strings.Contains(err.Error(), stranger.Cid().String()) {
		t.Fatalf("err = %v, want ErrNotInDAG naming %s", err, stranger.Cid())
	}
	assertNotStored(t, f.dst, stranger.Cid())
}

func TestFetchDirectRejectsExtraBlock(t *testing.T) {
	f := newDAGFixture(t)
	order := dagBlocks(t, f.src.Blocks(), f.root)
	extra := blocks.NewBlock([]byte("one block too many"))
	evilServer(t, f.src, append(order, extra), false)
	_, err := f.dst.FetchDirect(context.Background(), f.src.ID(), f.root, 1<<30, nil)
	if !errors.Is(err, ErrNotInDAG) || !strings.Contains(err.Error(), extra.Cid().String()) {
		t.Fatalf("err = %v, want ErrNotInDAG naming %s", err, extra.Cid())
	}
}

func assertNotStored(t *testing.T, n *Node, c cid.Cid) {
	t.Helper()
	if has, _ := n.Blocks().bs.Has(context.Background(), c); has {
		t.Fatalf("rejected block %s was stored", c)
	}
}

func TestFetchDirectCancel(t *testing.T) {
	f := newDAGFixture(t)
	order := dagBlocks(t, f.src.Blocks(), f.root)
	evilServer(t, f.src, order[:2], true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := f.dst.FetchDirect(ctx, f.src.ID(), f.root, 1<<30, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

// After fetches that succeed, fail and are cancelled, the goroutine count
// returns to where it was (the writer and the stream watchers are gone).
func TestFetchDirectNoGoroutineLeak(t *testing.T) {
	f := newDAGFixture(t)
	ctx := context.Background()
	if _, err := f.dst.FetchDirect(ctx, f.src.ID(), f.root, 1<<30, nil); err != nil {
		t.Fatal(err) // warm up: connections, identify, stream machinery
	}
	before := runtime.NumGoroutine()
	for range 3 {
		if _, err := f.dst.FetchDirect(ctx, f.src.ID(), f.root, 1<<30, nil); err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := f.dst.FetchDirect(cctx, f.src.ID(), f.root, 1<<30, nil); err == nil {
			t.Fatal("fetch with a cancelled context succeeded")
		}
	}
	eventually(t, 5*time.Second, "goroutines to return to the baseline", func() bool {
		return runtime.NumGoroutine() <= before
	})
}

func TestFetchFromFallsBackToBitswap(t *testing.T) {
	f := newDAGFixture(t)
	f.src.Host().RemoveStreamHandler(DAGProtocol)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := f.dst.FetchFrom(ctx, []peer.ID{f.src.ID()}, f.root, 1<<30, nil)
	if err != nil || n != int64(len(f.data)) {
		t.Fatalf("fetched %d bytes (%v), want %d", n, err, len(f.data))
	}
	if got := f.exported(t); !bytes.Equal(got, f.data) {
		t.Fatal("bytes fetched over the fallback differ")
	}
}

// Blocks a direct fetch stores are ordinary blocks: they survive a
// restart, and GC removes them when nothing pins them.
func TestFetchDirectStoredBlocks(t *testing.T) {
	f := newDAGFixture(t)
	key, repo := testKey(t), t.TempDir()
	dst := startNode(t, nil, key, repo)
	connectAll(t, f.src, dst)
	if _, err := dst.FetchDirect(context.Background(), f.src.ID(), f.root, 1<<30, nil); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	f.dst = startNode(t, nil, key, repo)
	if got := f.exported(t); !bytes.Equal(got, f.data) {
		t.Fatal("blocks read back after a restart differ")
	}
	st, err := f.dst.Blocks().GC(context.Background())
	if err != nil || st.Removed != len(dagBlocks(t, f.src.Blocks(), f.root)) {
		t.Fatalf("GC removed %d blocks (%v), want the whole DAG", st.Removed, err)
	}
	assertNotStored(t, f.dst, f.root)
}

// A holder that answers the first block and then goes quiet is given up
// after PeerStall, and the fetch completes from the next holder.
func TestFetchFromMovesOnFromAStalledPeer(t *testing.T) {
	f := newDAGFixture(t)
	quiet := newTestNode(t, nil)
	order := dagBlocks(t, f.src.Blocks(), f.root)
	evilServer(t, quiet, order[:1], true)
	connectAll(t, quiet, f.dst)
	f.dst.cfg.PeerStall = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := f.dst.FetchFrom(ctx, []peer.ID{quiet.ID(), f.src.ID()}, f.root, 1<<30, nil); err != nil {
		t.Fatalf("fetch with a stalled first holder: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the fetch only ended with the test's deadline")
	}
	if got := f.exported(t); !bytes.Equal(got, f.data) {
		t.Fatalf("exported %d bytes, want the %d imported", len(got), len(f.data))
	}
}

// A server holding a root but not every block below it refuses, so the
// fetcher moves on to its next peer instead of failing mid-stream.
func TestFetchDirectRefusesPartial(t *testing.T) {
	f := newDAGFixture(t)
	ctx := context.Background()
	rootBlk, err := f.src.Blocks().bs.Get(ctx, f.root)
	if err != nil {
		t.Fatal(err)
	}
	kids, err := links(rootBlk)
	if err != nil || len(kids) == 0 {
		t.Fatalf("root has %d links (%v)", len(kids), err)
	}
	if err := f.src.Blocks().bs.DeleteBlock(ctx, kids[len(kids)-1]); err != nil {
		t.Fatal(err)
	}
	_, err = f.dst.FetchDirect(ctx, f.src.ID(), f.root, 1<<30, nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "not stored whole") {
		t.Fatalf("err = %v, want ErrRefused: not stored whole", err)
	}
}
