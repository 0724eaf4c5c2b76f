package p2p

import (
	"context"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	pebbleds "github.com/ipfs/go-ds-pebble"
	"github.com/libp2p/go-libp2p/core/network"
)

// BenchmarkDirect compares, in one interleaved loop, ways of moving 50 MiB
// checkpoints over loopback: one server to one fetcher (1to1), one server
// to seven fetchers at once, all fetching the same checkpoint (1to7), and
// seven servers to one fetcher fetching a different checkpoint from each
// at once, as in a round where every peer publishes a delta (7to1):
//
//	tcp            plain TCP, one connection per transfer, bytes discarded
//	               (the ceiling)
//	libp2p         one raw libp2p stream per transfer between p2p.Nodes (the
//	               shipped host: TCP, TLS 1.3, yamux), bytes discarded
//	direct         Node.FetchDirect of a freshly imported UnixFS DAG between
//	               the same Nodes: framed, every block hashed and checked
//	               against its place in the DAG, stored in the fetcher's
//	               Blocks (pebble, leaves of 64 KiB and more as blob files)
//	bitswap        Blocks.Fetch of a fresh DAG between the same Nodes
//	direct-pebble  FetchDirect to fetchers whose Blocks keep every block in
//	               pebble (the store before blob files), servers as shipped
//	direct-mem     FetchDirect to fetchers whose Blocks keep blocks in memory:
//	               the protocol without the fetcher's store
//
// Every iteration runs every path, so all see the same machine load; each
// reports its aggregate MB/s (7 × 50 MiB or 50 MiB over its total time),
// its MB per CPU-second of this process (both ends run here, so this is
// the path's CPU cost and depends little on other load; background pebble
// work started by an earlier path is charged to whichever path runs), and
// the direct paths their ratios of wall time.
//
//	go test -run '^$' -bench Direct -benchtime 3x -count 3 ./p2p
func BenchmarkDirect(b *testing.B) {
	b.Run("1to1", func(b *testing.B) { benchDirect(b, 1, 1) })
	b.Run("1to7", func(b *testing.B) { benchDirect(b, 1, 7) })
	b.Run("7to1", func(b *testing.B) { benchDirect(b, 7, 1) })
}

// paths in report order; each indexes directBench.times.
var paths = []string{"tcp", "libp2p", "direct", "bitswap", "direct-pebble", "direct-mem"}

// swarm is servers and fetchers; transfer i of a round runs from
// srcs[i%len(srcs)] to dsts[i%len(dsts)].
type swarm struct {
	srcs, dsts []*Node
	k          int // transfers at once: max(len(srcs), len(dsts))
}

func (s swarm) src(i int) *Node { return s.srcs[i%len(s.srcs)] }
func (s swarm) dst(i int) *Node { return s.dsts[i%len(s.dsts)] }

type directBench struct {
	shipped swarm // the shipped Blocks everywhere
	pebble  swarm // fetchers with pebble-only stores
	mem     swarm // fetchers with in-memory stores
	data    []byte
	tcp     net.Listener
	times   []time.Duration // wall time per path
	cpu     []time.Duration // process CPU time per path
	seed    uint64
	wg      sync.WaitGroup // the TCP server
}

const benchProto = "/coldnode/bench-raw/1"

func benchDirect(b *testing.B, nsrc, ndst int) {
	d := &directBench{data: randomBytes(benchSize, 9), times: make([]time.Duration, len(paths)),
		cpu: make([]time.Duration, len(paths)), seed: 1000}
	d.shipped = d.newSwarm(b, nsrc, ndst, func() *Node { return newTestNode(b, nil) })
	d.pebble = d.newSwarm(b, nsrc, ndst, func() *Node { return newTestNode(b, nil) })
	d.mem = d.newSwarm(b, nsrc, ndst, func() *Node { return newTestNode(b, nil) })
	for i := range ndst {
		pebbleOnly(b, d.pebble.dsts[i])
		inMemory(b, d.mem.dsts[i])
	}
	d.startTCP(b)
	defer d.stop()
	for b.Loop() {
		d.run(b, 0, func(i int) error { return dialTCP(d.tcp.Addr().String()) })
		d.run(b, 1, func(i int) error { return d.shipped.stream(i) })
		d.run(b, 2, d.fetch(b, d.shipped, directFetch))
		d.run(b, 3, d.fetch(b, d.shipped, func(_, n *Node, c cid.Cid) (int64, error) {
			return n.Blocks().Fetch(context.Background(), c, benchSize, nil)
		}))
		d.run(b, 4, d.fetch(b, d.pebble, directFetch))
		d.run(b, 5, d.fetch(b, d.mem, directFetch))
	}
	d.report(b, d.shipped.k)
}

func directFetch(src, dst *Node, c cid.Cid) (int64, error) {
	return dst.FetchDirect(context.Background(), src.ID(), c, benchSize, nil)
}

func (d *directBench) newSwarm(b *testing.B, nsrc, ndst int, mk func() *Node) swarm {
	s := swarm{k: max(nsrc, ndst)}
	for range nsrc {
		src := mk()
		src.ServeDAG()
		src.Host().SetStreamHandler(benchProto, func(st network.Stream) {
			st.Write(d.data)
			st.Close()
		})
		s.srcs = append(s.srcs, src)
	}
	for range ndst {
		dst := mk()
		for _, src := range s.srcs {
			connectAll(b, src, dst)
		}
		s.dsts = append(s.dsts, dst)
	}
	return s
}

// pebbleOnly replaces a node's Blocks with one keeping every block in a
// pebble store (no blob files), as before they existed.
func pebbleOnly(b *testing.B, n *Node) {
	if err := n.blocks.Close(); err != nil {
		b.Fatal(err)
	}
	store, err := pebbleds.NewDatastore(b.TempDir(), pebbleds.WithPebbleOpts(pebbleOptions()))
	if err != nil {
		b.Fatal(err)
	}
	n.blocks = newBlocks(n.ctx, store, n.host, nil, n.log)
	b.Cleanup(func() { n.blocks.Close() })
}

func (s swarm) stream(i int) error {
	st, err := s.dst(i).Host().NewStream(context.Background(), s.src(i).ID(), benchProto)
	if err != nil {
		return err
	}
	return drain(st)
}

// fetch imports fresh bytes on every server (no fetcher holds any of
// their blocks: all stores were emptied), untimed, and returns the timed
// part: transfer i fetches its server's checkpoint.
func (d *directBench) fetch(b *testing.B, s swarm, get func(src, dst *Node, c cid.Cid) (int64, error)) func(int) error {
	b.StopTimer()
	defer b.StartTimer()
	for _, n := range append(append([]*Node{}, s.srcs...), s.dsts...) {
		if _, err := n.Blocks().GC(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	roots := make([]cid.Cid, len(s.srcs))
	for j, src := range s.srcs {
		d.seed++
		var err error
		if roots[j], err = src.Blocks().ImportBytes(context.Background(), randomBytes(benchSize, d.seed)); err != nil {
			b.Fatal(err)
		}
	}
	return func(i int) error {
		n, err := get(s.src(i), s.dst(i), roots[i%len(roots)])
		if err == nil && n != benchSize {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
}

func (d *directBench) startTCP(b *testing.B) {
	var err error
	if d.tcp, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	d.wg.Go(func() {
		var conns sync.WaitGroup
		defer conns.Wait()
		for {
			c, err := d.tcp.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				c.Write(d.data)
				c.Close()
			})
		}
	})
}

func (d *directBench) stop() {
	d.tcp.Close()
	d.wg.Wait()
}

// run runs f for every fetcher at once and adds the wall time to path p.
func (d *directBench) run(b *testing.B, p int, f func(i int) error) {
	k := d.shipped.k
	errs := make([]error, k)
	var wg sync.WaitGroup
	c0, t0 := cpuTime(b), time.Now()
	for i := range k {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	d.times[p] += time.Since(t0)
	d.cpu[p] += cpuTime(b) - c0
	for _, err := range errs {
		if err != nil {
			b.Fatalf("%s: %v", paths[p], err)
		}
	}
}

// cpuTime is the CPU time (user and system) the process has used so far.
// Both ends run in this process, so a path's share of it is the CPU cost
// of its transfers, whatever else loads the machine.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func dialTCP(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	return drain(c)
}

func drain(r io.ReadCloser) error {
	n, err := io.Copy(io.Discard, r)
	r.Close()
	if err == nil && n != benchSize {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func (d *directBench) report(b *testing.B, k int) {
	mb := float64(k) * benchSize * float64(b.N) / 1e6
	for p, name := range paths {
		b.ReportMetric(mb/d.times[p].Seconds(), name+"-MB/s")
		b.ReportMetric(mb/d.cpu[p].Seconds(), name+"-MB/cpu-s")
	}
	ratio := func(base, p int) float64 { return d.times[base].Seconds() / d.times[p].Seconds() }
	b.ReportMetric(ratio(0, 2), "direct/tcp")
	b.ReportMetric(ratio(1, 2), "direct/libp2p")
	b.ReportMetric(ratio(3, 2), "direct/bitswap")
	b.ReportMetric(ratio(4, 2), "direct/direct-pebble")
	b.ReportMetric(ratio(0, 4), "direct-pebble/tcp")
	b.ReportMetric(ratio(1, 5), "direct-mem/libp2p")
	b.ReportMetric(0, "ns/op")
}
