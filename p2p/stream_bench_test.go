package p2p

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	pebbleds "github.com/ipfs/go-ds-pebble"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// BenchmarkDirect compares, in one interleaved loop, ways of moving 50 MiB
// checkpoints over loopback: one server to one fetcher (1to1), one server
// to seven fetchers at once, all fetching the same checkpoint (1to7), and
// seven servers to one fetcher fetching a different checkpoint from each
// at once, as in a round where every peer publishes a delta (7to1):
//
//	tcp            plain TCP, one connection per transfer, the server
//	               writing from memory, the bytes discarded (the ceiling)
//	tcp-file       a raw TCP copy of a stored checkpoint: the server sends
//	               a file (sendfile), the fetcher writes a new file (splice)
//	               and fsyncs it; nothing is checked
//	tcp-file-sha   tcp-file through a 1 MiB buffer, hashing every byte with
//	               SHA-256 and checking the digest (what a copy verified
//	               against a known hash costs)
//	libp2p         one raw libp2p stream per transfer between p2p.Nodes (the
//	               shipped host: TCP, TLS 1.3, yamux), bytes discarded
//	direct         Node.FetchDirect of a freshly imported UnixFS DAG between
//	               the same Nodes, then Blocks.Sync: framed, every block
//	               hashed and checked against its place in the DAG, stored
//	               durably in the fetcher's Blocks (pebble; the large leaves
//	               in one fsynced pack per fetch); the servers read blob files
//	bitswap        Blocks.Fetch of a fresh DAG between the same Nodes (not
//	               synced)
//	direct-pebble  direct to fetchers whose Blocks keep every block in
//	               pebble (the store before blob files), servers as shipped
//	direct-mem     direct to fetchers whose Blocks keep blocks in memory:
//	               the protocol without the fetcher's store
//	direct-nowb    direct between the shipped Nodes with the fetchers'
//	               early write-back of packs off (the store before it):
//	               the whole pack is written to disk by the fsync at the end
//	direct-into    direct by Node.FetchFromInto, as a node's check fetches
//	               a delta: the file also gathered in memory the fetcher
//	               lends (reused, as the node's), its pack written around
//	               the page cache; then Blocks.Sync
//
// Every iteration runs every path, so all see the same machine load; each
// reports its aggregate MB/s (7 × 50 MiB or 50 MiB over its total time),
// its MB per CPU-second of this process (both ends run here, so this is
// the path's CPU cost and depends little on other load; background pebble
// work started by an earlier path is charged to whichever path runs), and
// the direct paths their ratios of wall time. -direct.paths=a,b runs only
// those paths (for a profile of one).
//
//	go test -run '^$' -bench Direct -benchtime 3x -count 3 ./p2p
func BenchmarkDirect(b *testing.B) {
	b.Run("1to1", func(b *testing.B) { benchDirect(b, 1, 1) })
	b.Run("1to7", func(b *testing.B) { benchDirect(b, 1, 7) })
	b.Run("7to1", func(b *testing.B) { benchDirect(b, 7, 1) })
}

// directPaths limits BenchmarkDirect to some paths (comma-separated
// names), for a profile of one path: -args -direct.paths=direct.
var directPaths = flag.String("direct.paths", "", "comma-separated paths BenchmarkDirect runs (default: all)")

// runs reports whether path p is to run.
func runs(p int) bool {
	return *directPaths == "" || slices.Contains(strings.Split(*directPaths, ","), paths[p])
}

// paths in report order; each indexes directBench.times.
var paths = []string{"tcp", "tcp-file", "tcp-file-sha", "libp2p", "direct", "bitswap", "direct-pebble", "direct-mem",
	"direct-nowb", "direct-into"}

const (
	pTCP = iota
	pTCPFile
	pTCPFileSHA
	pLibp2p
	pDirect
	pBitswap
	pDirectPebble
	pDirectMem
	pDirectNoWB
	pDirectInto
)

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
	sum     [sha256.Size]byte // of data
	tcp     net.Listener      // sends data from memory
	tcpFile net.Listener      // sends data from a file
	file    string            // that file
	copies  string            // directory the tcp-file paths write to
	times   []time.Duration   // wall time per path
	cpu     []time.Duration   // process CPU time per path
	seed    uint64
	into    [][]byte       // memory lent to direct-into's transfers, by index
	wg      sync.WaitGroup // the TCP servers
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
	for range max(nsrc, ndst) {
		d.into = append(d.into, bytes.Repeat([]byte{1}, benchSize))
	}
	d.startTCP(b)
	defer d.stop()
	for b.Loop() {
		d.run(b, pTCP, func() func(int) error {
			return func(i int) error { return dialTCP(d.tcp.Addr().String()) }
		})
		d.run(b, pTCPFile, func() func(int) error { return d.copyTCP(b, false) })
		d.run(b, pTCPFileSHA, func() func(int) error { return d.copyTCP(b, true) })
		d.run(b, pLibp2p, func() func(int) error { return d.shipped.stream })
		d.run(b, pDirect, func() func(int) error { return d.fetch(b, d.shipped, directFetch) })
		d.run(b, pBitswap, func() func(int) error { return d.fetch(b, d.shipped, bitswapFetch) })
		d.run(b, pDirectPebble, func() func(int) error { return d.fetch(b, d.pebble, directFetch) })
		d.run(b, pDirectMem, func() func(int) error { return d.fetch(b, d.mem, directFetch) })
		d.run(b, pDirectNoWB, func() func(int) error {
			setWriteBack(d.shipped, 0)
			return d.fetch(b, d.shipped, directFetch)
		})
		d.run(b, pDirectInto, func() func(int) error { return d.fetch(b, d.shipped, d.intoFetch) })
		setWriteBack(d.shipped, packWriteBack)
	}
	d.report(b, d.shipped.k)
}

func bitswapFetch(_ int, _, dst *Node, c cid.Cid) (int64, error) {
	return dst.Blocks().Fetch(context.Background(), c, benchSize, nil)
}

// directFetch fetches c and then makes every stored block durable (as
// the node does before it names a block, and as the tcp-file paths fsync
// their copy): with packs only pebble's log is left to sync, before packs
// every blob file of the fetch.
func directFetch(_ int, src, dst *Node, c cid.Cid) (int64, error) {
	n, err := dst.FetchDirect(context.Background(), src.ID(), c, benchSize, nil)
	if err == nil {
		err = dst.Blocks().Sync(context.Background())
	}
	return n, err
}

// intoFetch is directFetch by FetchFromInto, into the memory of transfer
// i (made and touched once, then reused, as a node's check reuses the
// memory rawBufs lends); a file not gathered there is an error.
func (d *directBench) intoFetch(i int, src, dst *Node, c cid.Cid) (int64, error) {
	into := &d.into[i]
	n, data, err := dst.FetchFromInto(context.Background(), []peer.ID{src.ID()}, c, benchSize, nil, into, benchSize)
	if err == nil && data == nil {
		err = errors.New("the file was not gathered in memory")
	}
	if err == nil {
		err = dst.Blocks().Sync(context.Background())
	}
	return n, err
}

// setWriteBack sets the early write-back of the fetchers' packs (0: off)
// between paths, when no fetch runs.
func setWriteBack(s swarm, wb int64) {
	for _, n := range s.dsts {
		n.blocks.blobs.packs.writeBack = wb
	}
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
func (d *directBench) fetch(b *testing.B, s swarm, get func(i int, src, dst *Node, c cid.Cid) (int64, error)) func(int) error {
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
		n, err := get(i, s.src(i), s.dst(i), roots[i%len(roots)])
		if err == nil && n != benchSize {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
}

// startTCP starts the two TCP servers: one writes data from memory, the
// other copies it from a file (sendfile), as a raw copy of a stored
// checkpoint would.
func (d *directBench) startTCP(b *testing.B) {
	d.sum = sha256.Sum256(d.data)
	d.file = filepath.Join(b.TempDir(), "checkpoint")
	if err := os.WriteFile(d.file, d.data, 0o600); err != nil {
		b.Fatal(err)
	}
	d.copies = b.TempDir()
	d.tcp = d.serveTCP(b, func(c net.Conn) { c.Write(d.data) })
	d.tcpFile = d.serveTCP(b, func(c net.Conn) {
		f, err := os.Open(d.file)
		if err != nil {
			return
		}
		defer f.Close()
		io.Copy(c, f)
	})
}

// serveTCP accepts connections, sending each with send and closing it.
func (d *directBench) serveTCP(b *testing.B, send func(net.Conn)) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	d.wg.Go(func() {
		var conns sync.WaitGroup
		defer conns.Wait()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				send(c)
				c.Close()
			})
		}
	})
	return ln
}

func (d *directBench) stop() {
	d.tcp.Close()
	d.tcpFile.Close()
	d.wg.Wait()
}

// copyTCP empties the copies directory (untimed) and returns the timed
// part: transfer i copies the checkpoint file over TCP into a new file and
// fsyncs it; with sum it also hashes every byte (SHA-256, as the fetch
// checks blocks) and checks the digest.
func (d *directBench) copyTCP(b *testing.B, sum bool) func(int) error {
	if err := os.RemoveAll(d.copies); err != nil {
		b.Fatal(err)
	}
	if err := os.Mkdir(d.copies, 0o700); err != nil {
		b.Fatal(err)
	}
	return func(i int) error {
		return d.copyOne(filepath.Join(d.copies, strconv.Itoa(i)), sum)
	}
}

func (d *directBench) copyOne(name string, sum bool) error {
	c, err := net.Dial("tcp", d.tcpFile.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	var n int64
	if sum {
		n, err = d.hashCopy(f, c)
	} else {
		n, err = io.Copy(f, c) // splice from the socket into the file
	}
	if err == nil && n != benchSize {
		err = io.ErrUnexpectedEOF
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// hashCopy copies r to f through a 1 MiB buffer, hashing every byte, and
// checks the digest against data's.
func (d *directBench) hashCopy(f *os.File, r io.Reader) (int64, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := io.ReadFull(r, buf)
		h.Write(buf[:k])
		if _, werr := f.Write(buf[:k]); werr != nil {
			return n, werr
		}
		n += int64(k)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return n, err
		}
	}
	if [sha256.Size]byte(h.Sum(nil)) != d.sum {
		return n, errors.New("copy does not hash to the checkpoint's digest")
	}
	return n, nil
}

// run runs the transfer prepare makes (untimed) for every fetcher at once
// and adds the wall time to path p.
func (d *directBench) run(b *testing.B, p int, prepare func() func(i int) error) {
	if !runs(p) {
		return
	}
	f := prepare()
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
		if !runs(p) {
			continue
		}
		b.ReportMetric(mb/d.times[p].Seconds(), name+"-MB/s")
		b.ReportMetric(mb/d.cpu[p].Seconds(), name+"-MB/cpu-s")
	}
	ratio := func(base, p int, name string) {
		if runs(base) && runs(p) {
			b.ReportMetric(d.times[base].Seconds()/d.times[p].Seconds(), name)
		}
	}
	ratio(pTCP, pDirect, "direct/tcp")
	ratio(pTCPFile, pDirect, "direct/tcp-file")
	ratio(pTCPFileSHA, pDirect, "direct/tcp-file-sha")
	ratio(pLibp2p, pDirect, "direct/libp2p")
	ratio(pBitswap, pDirect, "direct/bitswap")
	ratio(pDirectPebble, pDirect, "direct/direct-pebble")
	ratio(pDirectNoWB, pDirect, "direct/direct-nowb")
	ratio(pTCP, pDirectInto, "direct-into/tcp")
	ratio(pTCPFile, pDirectInto, "direct-into/tcp-file")
	ratio(pLibp2p, pDirectMem, "direct-mem/libp2p")
	ratio(pTCP, pLibp2p, "libp2p/tcp")
	b.ReportMetric(0, "ns/op")
}
