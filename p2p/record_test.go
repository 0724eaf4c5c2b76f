package p2p

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// leafRun returns pending raw leaves of the given sizes, hashed with mh,
// all marked for a check.
func leafRun(t *testing.T, mh uint64, sizes ...int) []pending {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(len(sizes)), mh))
	run := make([]pending, len(sizes))
	for i, n := range sizes {
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		c, err := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh, MhLength: -1}.Sum(data)
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := blocks.NewBlockWithCid(data, c)
		run[i] = pending{blk: blk, check: true}
	}
	return run
}

// corrupt flips one byte of run[i]'s data, keeping its CID.
func corrupt(run []pending, i int) {
	data := bytes.Clone(run[i].blk.RawData())
	data[len(data)/2] ^= 1
	run[i].blk, _ = blocks.NewBlockWithCid(data, run[i].blk.Cid())
}

func TestVerifyManyPassesGoodLeaves(t *testing.T) {
	run := leafRun(t, multihash.SHA2_256, 1<<20, 1<<20, 1<<20, 1<<20, 5000, 1<<20, 77)
	if n, err := verifyMany(run); n != len(run) || err != nil {
		t.Fatalf("verifyMany = %d, %v; want %d, nil", n, err, len(run))
	}
}

// A corrupt leaf among others hashed with it stops the run there, with
// verify's error naming it; those before it passed.
func TestVerifyManyStopsAtTheCorruptLeaf(t *testing.T) {
	for bad := range 4 {
		run := leafRun(t, multihash.SHA2_256, 1<<20, 1<<20, 1<<20, 1<<20)
		corrupt(run, bad)
		n, err := verifyMany(run)
		if n != bad || !errors.Is(err, ErrBadBlock) || !strings.Contains(err.Error(), run[bad].blk.Cid().String()) {
			t.Fatalf("corrupt leaf %d: verifyMany = %d, %v", bad, n, err)
		}
	}
}

// Other hash functions are checked one by one, and blocks not marked for
// a check are not checked (their place in the DAG was verified already).
func TestVerifyManyOtherHashesAndUnchecked(t *testing.T) {
	run := append(leafRun(t, multihash.SHA2_256, 4096, 4096, 4096), leafRun(t, multihash.BLAKE2B_MIN+31, 4096, 4096)...)
	run[1].check = false
	corrupt(run, 1)
	if n, err := verifyMany(run); n != len(run) || err != nil {
		t.Fatalf("verifyMany = %d, %v; want %d, nil", n, err, len(run))
	}
	corrupt(run, 4)
	if n, err := verifyMany(run); n != 4 || !errors.Is(err, ErrBadBlock) {
		t.Fatalf("corrupt blake2b leaf: verifyMany = %d, %v; want 4, ErrBadBlock", n, err)
	}
}

// A corrupt leaf that the writer hashes together with the leaves before
// it ends the fetch naming it; those before it are stored, it is not.
func TestFetchDirectCorruptLeafAmongOthers(t *testing.T) {
	f := newDAGFixture(t)
	order := dagBlocks(t, f.src.Blocks(), f.root)
	if len(order) < 5 {
		t.Fatalf("fixture DAG has %d blocks, want a root and at least four leaves", len(order))
	}
	frames := append([]blocks.Block(nil), order...)
	bad := order[4]
	data := bytes.Clone(bad.RawData())
	data[100] ^= 1
	frames[4], _ = blocks.NewBlockWithCid(data, bad.Cid())
	evilServer(t, f.src, frames, false)
	_, err := f.dst.FetchDirect(context.Background(), f.src.ID(), f.root, 1<<30, nil)
	if !errors.Is(err, ErrBadBlock) || !strings.Contains(err.Error(), bad.Cid().String()) {
		t.Fatalf("err = %v, want ErrBadBlock naming %s", err, bad.Cid())
	}
	assertNotStored(t, f.dst, bad.Cid())
	for _, blk := range order[1:4] {
		if has, _ := f.dst.Blocks().Has(context.Background(), blk.Cid()); !has {
			t.Fatalf("leaf %s, verified before the corrupt one, was not stored", blk.Cid())
		}
	}
}
