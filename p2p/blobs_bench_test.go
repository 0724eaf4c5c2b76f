package p2p

import (
	"context"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// BenchmarkStorePut stores the 50 × 1 MiB leaves of a checkpoint in 16 MiB
// PutMany batches (as a direct fetch does) into a fresh store and closes it
// (the blob files are fsynced; pebble keeps its memtable in its log, so the
// flush and compactions it owes later are not counted), alternating in
// one loop (so both see the same machine load): pebble alone, and pebble
// with large leaves as blob files. It reports each one's MB/s, MB per CPU
// second, and their ratio of wall time.
//
//	go test -run '^$' -bench StorePut -benchtime 5x -count 3 ./p2p
func BenchmarkStorePut(b *testing.B) {
	leaves := make([]blocks.Block, benchSize>>20)
	for i := range leaves {
		leaves[i] = rawBlock(b, randomBytes(1<<20, uint64(i+1)))
	}
	var times, cpu [2]time.Duration
	for b.Loop() {
		for i, blobs := range []bool{false, true} {
			b.StopTimer()
			bl := openBenchStore(b, blobs)
			c0, t0 := cpuTime(b), time.Now()
			for j := 0; j < len(leaves); j += 16 {
				if err := bl.bs.PutMany(context.Background(), leaves[j:min(j+16, len(leaves))]); err != nil {
					b.Fatal(err)
				}
			}
			if err := bl.Close(); err != nil {
				b.Fatal(err)
			}
			times[i] += time.Since(t0)
			cpu[i] += cpuTime(b) - c0
			b.StartTimer()
		}
	}
	mb := float64(benchSize) * float64(b.N) / 1e6
	b.ReportMetric(mb/times[0].Seconds(), "pebble-MB/s")
	b.ReportMetric(mb/times[1].Seconds(), "blobs-MB/s")
	b.ReportMetric(mb/cpu[0].Seconds(), "pebble-MB/cpu-s")
	b.ReportMetric(mb/cpu[1].Seconds(), "blobs-MB/cpu-s")
	b.ReportMetric(times[0].Seconds()/times[1].Seconds(), "blobs/pebble")
	b.ReportMetric(0, "ns/op")
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
