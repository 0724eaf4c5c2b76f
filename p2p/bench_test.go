package p2p

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"

	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/coldnode/coldnode/p2p/ufs"
)

// benchSize is the blob moved per operation: a checkpoint-sized 50 MiB.
const benchSize = 50 << 20

// BenchmarkTransfer moves the same 50 MiB over loopback three ways in one
// run, so their MB/s can be compared as ratios:
//
//	tcp      plain TCP between two goroutines (the ceiling)
//	libp2p   one raw libp2p stream between two Nodes (TCP, Noise, yamux)
//	libp2p-quic  the same over QUIC
//	bitswap  Blocks.Fetch of a freshly imported UnixFS DAG between two Nodes
//	         with pebble stores (fetching, verifying and storing every block)
//	bitswap-memstore  the same with both stores in memory, to separate the
//	         network path from the cost of the store
//
// go test -run '^$' -bench Transfer -benchtime 5x ./p2p
func BenchmarkTransfer(b *testing.B) {
	b.Run("tcp", benchTCP)
	b.Run("libp2p", func(b *testing.B) { benchStream(b, nil) })
	b.Run("libp2p-quic", func(b *testing.B) {
		benchStream(b, func(c *Config) { c.ListenAddrs = []string{"/ip4/127.0.0.1/udp/0/quic-v1"} })
	})
	b.Run("bitswap", func(b *testing.B) { benchBitswap(b, false) })
	b.Run("bitswap-memstore", func(b *testing.B) { benchBitswap(b, true) })
}

// inMemory replaces a node's pebble store with a map datastore.
func inMemory(b *testing.B, n *Node) {
	if err := n.blocks.Close(); err != nil {
		b.Fatal(err)
	}
	mem := dssync.MutexWrap(ds.NewMapDatastore())
	n.blocks = newBlocks(n.ctx, mem, n.host, nil, n.log)
}

func benchTCP(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	src := randomBytes(benchSize, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write(src)
			c.Close()
		}
	}()
	b.SetBytes(benchSize)
	for b.Loop() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		readAll(b, c)
	}
	ln.Close()
	<-done
}

func readAll(b *testing.B, r io.ReadCloser) {
	n, err := io.Copy(io.Discard, r)
	r.Close()
	if err != nil || n != benchSize {
		b.Fatalf("read %d bytes (%v), want %d", n, err, benchSize)
	}
}

func benchStream(b *testing.B, mod func(*Config)) {
	src, dst := newTestNode(b, mod), newTestNode(b, mod)
	data := randomBytes(benchSize, 2)
	const proto = "/coldnode/bench/1"
	src.Host().SetStreamHandler(proto, func(s network.Stream) {
		s.Write(data)
		s.Close()
	})
	ctx := context.Background()
	if err := dst.Host().Connect(ctx, peer.AddrInfo{ID: src.ID(), Addrs: src.Host().Addrs()}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	for b.Loop() {
		s, err := dst.Host().NewStream(ctx, src.ID(), proto)
		if err != nil {
			b.Fatal(err)
		}
		readAll(b, s)
	}
}

func benchBitswap(b *testing.B, memory bool) {
	src, dst := newTestNode(b, nil), newTestNode(b, nil)
	if memory {
		inMemory(b, src)
		inMemory(b, dst)
	}
	connectAll(b, src, dst)
	ctx := context.Background()
	b.SetBytes(benchSize)
	seed := uint64(100)
	for b.Loop() {
		b.StopTimer()
		seed++
		root, err := src.Blocks().ImportBytes(ctx, randomBytes(benchSize, seed))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n, err := dst.Blocks().Fetch(ctx, root, benchSize, nil)
		if err != nil || n != benchSize {
			b.Fatalf("fetched %d bytes (%v)", n, err)
		}
	}
}

// BenchmarkImport compares computing a 50 MiB file's CID (hashing only, no
// store) with importing it into a pebble-backed Blocks, in the same run.
//
// go test -run '^$' -bench Import -benchtime 5x ./p2p
func BenchmarkImport(b *testing.B) {
	data := randomBytes(benchSize, 3)
	b.Run("cid", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			if _, err := ufs.CID(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pebble", func(b *testing.B) {
		bl, err := OpenBlocks(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer bl.Close()
		b.SetBytes(benchSize)
		i := uint64(0)
		for b.Loop() {
			i++
			data[0], data[1] = byte(i), byte(i>>8) // a new file each time
			if _, err := bl.ImportBytes(context.Background(), data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new-file-durable", func(b *testing.B) { benchImportNew(b, data) })
}

// benchImportNew imports a file none of whose leaves is stored yet and
// makes it durable (Sync), as the node stores a fused base or its own
// delta: "pebble" above changes only the first leaf, so the rest of its
// file is found stored. The CPU per op is the process's.
func benchImportNew(b *testing.B, data []byte) {
	ctx := context.Background()
	bl, err := OpenBlocks(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bl.Close()
	b.SetBytes(int64(len(data)))
	cpu0 := cpuTime(b)
	for i := 0; b.Loop(); i++ {
		for j := 0; j < len(data); j += 1 << 16 { // every leaf differs
			data[j] = byte(i)
		}
		if _, err := bl.ImportBytes(ctx, data); err != nil {
			b.Fatal(err)
		}
		if err := bl.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/1e6/float64(b.N), "cpu-ms/op")
}
