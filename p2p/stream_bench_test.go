package p2p

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	yamux "github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// BenchmarkDirect compares, in one interleaved loop, ways of moving the
// same 50 MiB checkpoint from one server to each of k fetchers at once over
// loopback (k = 1 and 7):
//
//	tcp         plain TCP, one connection per fetcher, bytes discarded (the ceiling)
//	libp2p      one raw libp2p stream per fetcher between p2p.Nodes (TCP,
//	            Noise, yamux: the shipped host), bytes discarded
//	direct      Node.FetchDirect of a freshly imported UnixFS DAG between
//	            the same Nodes: framed, every block hashed and checked against
//	            its place in the DAG, written to the fetcher's pebble store
//	bitswap     Blocks.Fetch of a fresh DAG between the same Nodes
//	libp2p-tls  the raw stream between hosts that negotiate TLS (AES-GCM)
//	            instead of Noise (ChaCha20-Poly1305), pebble stores as above
//	direct-tls  FetchDirect between those hosts
//	direct-mem  FetchDirect between shipped hosts whose fetchers keep blocks
//	            in memory (the server stays on pebble): the protocol
//	            without the fetcher's store, to separate the two costs
//
// Every iteration runs every path, so all see the same machine load; each
// reports its aggregate MB/s (k × 50 MiB over its total time) and the
// direct paths their ratio to tcp and to the raw stream of the same host.
//
//	go test -run '^$' -bench Direct -benchtime 3x -count 3 ./p2p
func BenchmarkDirect(b *testing.B) {
	b.Run("1to1", func(b *testing.B) { benchDirect(b, 1) })
	b.Run("1to7", func(b *testing.B) { benchDirect(b, 7) })
}

// paths in report order; each indexes directBench.times.
var paths = []string{"tcp", "libp2p", "direct", "bitswap", "libp2p-tls", "direct-tls", "direct-mem"}

type swarm struct {
	src  *Node
	dsts []*Node
}

type directBench struct {
	noise, tls swarm
	mem        swarm // fetchers with in-memory stores
	data       []byte
	tcp        net.Listener
	times      []time.Duration
	seed       uint64
	wg         sync.WaitGroup // the TCP server
}

const benchProto = "/coldnode/bench-raw/1"

func benchDirect(b *testing.B, k int) {
	d := &directBench{data: randomBytes(benchSize, 9), times: make([]time.Duration, len(paths)), seed: 1000}
	d.noise = d.newSwarm(b, k, func() *Node { return newTestNode(b, nil) })
	d.tls = d.newSwarm(b, k, func() *Node { return newTLSNode(b) })
	d.mem = d.newSwarm(b, k, func() *Node { return newTestNode(b, nil) })
	for _, n := range d.mem.dsts {
		inMemory(b, n)
	}
	d.startTCP(b)
	defer d.stop()
	for b.Loop() {
		d.run(b, 0, func(i int) error { return dialTCP(d.tcp.Addr().String()) })
		d.run(b, 1, func(i int) error { return d.noise.stream(i) })
		d.run(b, 2, d.fetch(b, d.noise, func(n *Node, c cid.Cid) (int64, error) {
			return n.FetchDirect(context.Background(), d.noise.src.ID(), c, benchSize, nil)
		}))
		d.run(b, 3, d.fetch(b, d.noise, func(n *Node, c cid.Cid) (int64, error) {
			return n.Blocks().Fetch(context.Background(), c, benchSize, nil)
		}))
		d.run(b, 4, func(i int) error { return d.tls.stream(i) })
		d.run(b, 5, d.fetch(b, d.tls, func(n *Node, c cid.Cid) (int64, error) {
			return n.FetchDirect(context.Background(), d.tls.src.ID(), c, benchSize, nil)
		}))
		d.run(b, 6, d.fetch(b, d.mem, func(n *Node, c cid.Cid) (int64, error) {
			return n.FetchDirect(context.Background(), d.mem.src.ID(), c, benchSize, nil)
		}))
	}
	d.report(b, k)
}

func (d *directBench) newSwarm(b *testing.B, k int, mk func() *Node) swarm {
	s := swarm{src: mk()}
	s.src.ServeDAG()
	s.src.Host().SetStreamHandler(benchProto, func(st network.Stream) {
		st.Write(d.data)
		st.Close()
	})
	for range k {
		dst := mk()
		connectAll(b, s.src, dst)
		s.dsts = append(s.dsts, dst)
	}
	return s
}

// newTLSNode is a Node whose host offers only TLS as its security protocol
// (otherwise as the shipped host: TCP, yamux) with a pebble store.
func newTLSNode(b *testing.B) *Node {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(libp2ptls.ID, libp2ptls.New), libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableMetrics(), libp2p.DisableRelay())
	if err != nil {
		b.Fatal(err)
	}
	n := &Node{cfg: testConfig(), log: slog.New(slog.DiscardHandler), host: h, topics: map[string]*Topic{}, now: time.Now}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if n.blocks, err = openBlocks(n.ctx, b.TempDir(), h, nil, n.log); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		n.cancel()
		n.blocks.Close()
		h.Close()
	})
	return n
}

func (s swarm) stream(i int) error {
	st, err := s.dsts[i].Host().NewStream(context.Background(), s.src.ID(), benchProto)
	if err != nil {
		return err
	}
	return drain(st)
}

// fetch imports fresh bytes on the server (no fetcher holds any of its
// blocks: their stores were emptied), untimed, and returns the timed part.
func (d *directBench) fetch(b *testing.B, s swarm, get func(*Node, cid.Cid) (int64, error)) func(int) error {
	b.StopTimer()
	defer b.StartTimer()
	for _, n := range append([]*Node{s.src}, s.dsts...) {
		if _, err := n.Blocks().GC(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	d.seed++
	root, err := s.src.Blocks().ImportBytes(context.Background(), randomBytes(benchSize, d.seed))
	if err != nil {
		b.Fatal(err)
	}
	return func(i int) error {
		n, err := get(s.dsts[i], root)
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
	k := len(d.noise.dsts)
	errs := make([]error, k)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range k {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	d.times[p] += time.Since(t0)
	for _, err := range errs {
		if err != nil {
			b.Fatalf("%s: %v", paths[p], err)
		}
	}
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
	}
	ratio := func(base, p int) float64 { return d.times[base].Seconds() / d.times[p].Seconds() }
	b.ReportMetric(ratio(0, 2), "direct/tcp")
	b.ReportMetric(ratio(1, 2), "direct/libp2p")
	b.ReportMetric(ratio(3, 2), "direct/bitswap")
	b.ReportMetric(ratio(0, 5), "direct-tls/tcp")
	b.ReportMetric(ratio(4, 5), "direct-tls/libp2p-tls")
	b.ReportMetric(ratio(1, 6), "direct-mem/libp2p")
	b.ReportMetric(0, "ns/op")
}
