package p2p

import (
	"context"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// BenchmarkStorePut stores the 50 × 1 MiB leaves of a checkpoint into a
// fresh store and closes it, alternating in one loop (so all see the same
// machine load): pebble alone and pebble with large leaves as blob files,
// both in 16 MiB PutMany batches (the blob files are fsynced at Close;
// pebble keeps its memtable in its log, so the flush and compactions it
// owes later are not counted), and one pack committed (fsynced) as a
// direct fetch writes it. It reports each one's MB/s, MB per CPU second,
// and ratios of wall time.
//
//	go test -run '^$' -bench StorePut -benchtime 5x -count 3 ./p2p
func BenchmarkStorePut(b *testing.B) {
	leaves := make([]blocks.Block, benchSize>>20)
	for i := range leaves {
		leaves[i] = rawBlock(b, randomBytes(1<<20, uint64(i+1)))
	}
	kinds := []string{"pebble", "blobs", "pack"}
	times, cpu := make([]time.Duration, len(kinds)), make([]time.Duration, len(kinds))
	for b.Loop() {
		for i, kind := range kinds {
			b.StopTimer()
			bl := openBenchStore(b, kind != "pebble")
			c0, t0 := cpuTime(b), time.Now()
			storeLeaves(b, bl, leaves, kind == "pack")
			if err := bl.Close(); err != nil {
				b.Fatal(err)
			}
			times[i] += time.Since(t0)
			cpu[i] += cpuTime(b) - c0
			b.StartTimer()
		}
	}
	mb := float64(benchSize) * float64(b.N) / 1e6
	for i, kind := range kinds {
		b.ReportMetric(mb/times[i].Seconds(), kind+"-MB/s")
		b.ReportMetric(mb/cpu[i].Seconds(), kind+"-MB/cpu-s")
	}
	b.ReportMetric(times[0].Seconds()/times[1].Seconds(), "blobs/pebble")
	b.ReportMetric(times[1].Seconds()/times[2].Seconds(), "pack/blobs")
	b.ReportMetric(0, "ns/op")
}

// storeLeaves stores leaves in 16-block PutMany batches, or appends them
// to one pack and commits it, as a direct fetch does.
func storeLeaves(b *testing.B, bl *Blocks, leaves []blocks.Block, pack bool) {
	ctx := context.Background()
	if !pack {
		for j := 0; j < len(leaves); j += 16 {
			if err := bl.bs.PutMany(ctx, leaves[j:min(j+16, len(leaves))]); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	w := newPackWriter(bl.blobs, false)
	for _, blk := range leaves {
		if err := w.add(ctx, blk); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.commit(ctx); err != nil {
		b.Fatal(err)
	}
}

func openBenchStore(b *testing.B, blobs bool) *Blocks {
	bl, err := OpenBlocks(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	if !blobs {
		bl.bs = bl.bs.(*hybridStore).Blockstore
	}
	return bl
}

// rawBlock is data as a raw-codec block (CIDv1, sha2-256).
func rawBlock(t testing.TB, data []byte) blocks.Block {
	t.Helper()
	c, err := rawPrefix.Sum(data)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := blocks.NewBlockWithCid(data, c)
	if err != nil {
		t.Fatal(err)
	}
	return blk
}

var rawPrefix = cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}
