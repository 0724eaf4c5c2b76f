package p2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/boxo/bitswap"
	"github.com/ipfs/boxo/bitswap/network/bsnet"
	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/exchange"
	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/namespace"
	pebbleds "github.com/ipfs/go-ds-pebble"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"

	"github.com/coldnode/coldnode/p2p/ufs"
)

type contentFinder = routing.ContentDiscovery

// Blocks is the node's content-addressed store: a blockstore on a pebble
// datastore, a blockservice that falls back to bitswap when a block is not
// local, and a pin set kept in the same datastore.
//
// Concurrency: every method is safe for concurrent use. GC takes an exclusive
// lock; imports, fetches and pins hold a shared one, so GC never removes a
// block an operation in flight has just written.
type Blocks struct {
	store    ds.Batching // closed by Close
	bs       blockstore.Blockstore
	blobs    *blobStore       // large raw blocks as files; nil: all in store
	bswap    *bitswap.Bitswap // nil when offline
	guard    *guardedStore    // the store bitswap sees; shut by Close
	bserv    blockservice.BlockService
	dag      ipld.DAGService
	pins     ds.Datastore
	gc       gcGate
	log      *slog.Logger
	cancel   context.CancelFunc
	provide  func(cid.Cid) // announces new roots; nil without a DHT
	metrics  *Metrics      // nil: none
	closed   bool          // guarded by gc
	stopOnce sync.Once     // stops bitswap
}

// ErrBadBlock is returned when bytes do not hash to the CID they came with.
var ErrBadBlock = errors.New("p2p: block does not match its CID")

// OpenBlocks opens (creating if needed) the pebble store in dir without any
// network: blocks are only read locally. Use Node.Blocks for the networked one.
func OpenBlocks(dir string, logger *slog.Logger) (*Blocks, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return openBlocks(context.Background(), dir, nil, nil, logger)
}

func openBlocks(ctx context.Context, dir string, h host.Host, finder contentFinder, log *slog.Logger) (*Blocks, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("p2p blocks: %w", err)
	}
	opts := pebbleOptions()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts.Logger = storeLogger{dir: dir, log: log}
	store, err := pebbleds.NewDatastore(dir, pebbleds.WithPebbleOpts(opts))
	if err != nil {
		return nil, fmt.Errorf("p2p blocks: open %s: %w", dir, err)
	}
	// pebble holds dir's lock from here, so no other process is writing
	// the blob directory while openBlobStore clears its leftovers.
	blobs, torn, err := openBlobStore(filepath.Join(dir, "blobs"))
	if err != nil {
		store.Close()
		return nil, err
	}
	if torn > 0 {
		log.Warn("deleted block files a crash left incomplete", "dir", dir, "files", torn)
	}
	if err := blobs.openPacks(ctx, store); err != nil {
		store.Close()
		return nil, err
	}
	return newBlocksWith(ctx, store, blobs, h, finder, log), nil
}

// newBlocks builds the store on any datastore, every block inside it; it
// closes store on Close.
func newBlocks(ctx context.Context, store ds.Batching, h host.Host, finder contentFinder, log *slog.Logger) *Blocks {
	return newBlocksWith(ctx, store, nil, h, finder, log)
}

// newBlocksWith is newBlocks keeping large raw blocks in blobs (when not nil).
func newBlocksWith(ctx context.Context, store ds.Batching, blobs *blobStore, h host.Host, finder contentFinder, log *slog.Logger) *Blocks {
	var bs blockstore.Blockstore = blockstore.NewBlockstore(store)
	if blobs != nil {
		bs = &hybridStore{Blockstore: bs, blobs: blobs}
	}
	b := &Blocks{store: store, bs: bs, blobs: blobs, log: log,
		pins: namespace.Wrap(store, pinsPrefix)}
	var ex exchange.Interface
	if h != nil {
		ctx, b.cancel = context.WithCancel(ctx)
		b.guard = &guardedStore{Blockstore: b.bs}
		b.bswap = bitswap.New(ctx, bsnet.NewFromIpfsHost(h), finder, b.guard)
		ex = b.bswap
	}
	b.bserv = blockservice.New(b.bs, ex)
	b.dag = merkledag.NewDAGService(b.bserv)
	return b
}

// Close stops bitswap (failing fetches in flight), waits for every other
// operation, and closes the datastore. Later calls return ErrClosed.
func (b *Blocks) Close() error {
	var errs []error
	b.stopOnce.Do(func() {
		if b.bswap != nil {
			errs = append(errs, b.bswap.Close())
			b.cancel()
		}
	})
	b.gc.Lock()
	defer b.gc.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.guard != nil {
		b.guard.shut()
	}
	if b.blobs != nil {
		errs = append(errs, b.blobs.sync())
	}
	errs = append(errs, b.store.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("p2p blocks close: %w", err)
	}
	return nil
}

// rlock takes the shared lock unless the store is closed.
func (b *Blocks) rlock() error {
	b.gc.RLock()
	if b.closed {
		b.gc.RUnlock()
		return ErrClosed
	}
	return nil
}

// DAG returns the DAG service (local first, then bitswap).
func (b *Blocks) DAG() ipld.DAGService { return b.dag }

// Import stores r as a UnixFS file (profile of package ufs) and returns
// its root. The blocks are stored as a direct fetch stores them
// (batchWriter): the large leaves appended to one pack, durable and
// readable when Import returns, the rest put in batches. Bitswap is then
// told of the blocks a peer or a fetch of this node waits for.
func (b *Blocks) Import(ctx context.Context, r io.Reader) (cid.Cid, error) {
	return b.importWith(ctx, func(ds ipld.DAGService) (cid.Cid, error) { return ufs.Import(ctx, ds, r) })
}

// importWith stores the nodes build adds to the DAG service it is given,
// as Import describes, and returns build's root.
func (b *Blocks) importWith(ctx context.Context, build func(ipld.DAGService) (cid.Cid, error)) (cid.Cid, error) {
	if err := b.rlock(); err != nil {
		return cid.Undef, err
	}
	defer b.gc.RUnlock()
	var stored []cid.Cid // the storing goroutine's until close returns
	w := newImportWriter(ctx, b.bs, b.blobs)
	w.stored = func(batch []blocks.Block) {
		for _, blk := range batch {
			stored = append(stored, blk.Cid())
		}
	}
	c, err := build(importDAG{DAGService: b.dag, w: w})
	if cerr := w.close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return cid.Undef, fmt.Errorf("p2p import: %w", err)
	}
	b.notifyWanted(ctx, stored)
	b.announce(c)
	return c, nil
}

// notifyWanted hands bitswap those of the stored blocks cs that a peer,
// or a fetch of this node, asked it for: bitswap serves or delivers a
// wanted block only when told of it (the blockservice tells it of every
// block it stores) or when asked again. Nothing is read unless wanted.
func (b *Blocks) notifyWanted(ctx context.Context, cs []cid.Cid) {
	if b.bswap == nil || len(cs) == 0 {
		return
	}
	st, err := b.bswap.Stat()
	if err != nil {
		return
	}
	wanted := map[cid.Cid]bool{}
	for _, c := range st.Wantlist {
		wanted[c] = true
	}
	for _, s := range st.Peers {
		if p, err := peer.Decode(s); err == nil {
			for _, c := range b.bswap.WantlistForPeer(p) {
				wanted[c] = true
			}
		}
	}
	for _, c := range cs {
		if !wanted[c] {
			continue
		}
		if blk, err := b.bs.Get(ctx, c); err == nil {
			b.bswap.NotifyNewBlocks(ctx, blk)
		}
	}
}

// importDAG is the DAG service an import writes through: the nodes it
// adds, hashed by the importer, go to the batch writer; reads go to the
// store.
type importDAG struct {
	ipld.DAGService
	w *batchWriter
}

// Add hands the writer a plain block of n's bytes, taken here: a dag-pb
// node encodes itself lazily and caches the result, so the writer's
// goroutine must not call into the node the importer still uses.
func (d importDAG) Add(_ context.Context, n ipld.Node) error {
	blk, err := blocks.NewBlockWithCid(n.RawData(), n.Cid())
	if err != nil {
		return err
	}
	return d.w.put(blk, false)
}

func (d importDAG) AddMany(ctx context.Context, ns []ipld.Node) error {
	for _, n := range ns {
		if err := d.Add(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// ImportBytes stores data as a UnixFS file and returns its root, as
// Import of a reader of data does. The leaves are taken from data in place
// (ufs.ImportBytes), not copied into chunk buffers first: the import
// writer copies each into its pack and keeps none, so data is the
// caller's again when ImportBytes returns.
func (b *Blocks) ImportBytes(ctx context.Context, data []byte) (cid.Cid, error) {
	return b.importWith(ctx, func(ds ipld.DAGService) (cid.Cid, error) { return ufs.ImportBytes(ctx, ds, data) })
}

// ImportFile stores the file at path as a UnixFS file and returns its root.
func (b *Blocks) ImportFile(ctx context.Context, path string) (cid.Cid, error) {
	f, err := os.Open(path)
	if err != nil {
		return cid.Undef, fmt.Errorf("p2p import: %w", err)
	}
	defer f.Close()
	return b.Import(ctx, f)
}

// Export writes the UnixFS file c to w, fetching missing blocks over bitswap.
// Call Fetch first for a size cap and progress.
func (b *Blocks) Export(ctx context.Context, c cid.Cid, w io.Writer) error {
	if err := b.rlock(); err != nil {
		return err
	}
	defer b.gc.RUnlock()
	return b.exportLocked(ctx, merkledag.NewSession(ctx, b.dag), c, w)
}

// exportLocked is Export from ng, for a caller holding the GC gate.
func (b *Blocks) exportLocked(ctx context.Context, ng ipld.NodeGetter, c cid.Cid, w io.Writer) error {
	err := ufs.Export(ctx, ng, c, w)
	if err != nil {
		// The DAG service reports a failed batch without naming the block;
		// name the first local block that does not read back, if any.
		if bad := b.firstUnreadable(ctx, c); bad != nil {
			return fmt.Errorf("%w: %w", err, bad)
		}
	}
	return err
}

// firstUnreadable walks the local part of the DAG rooted at root and returns
// the error of the first block that is stored but cannot be read (a corrupt
// blob file), or nil. Blocks not stored locally are skipped.
func (b *Blocks) firstUnreadable(ctx context.Context, root cid.Cid) error {
	var o dagOrder
	o.start(root)
	for c, ok := o.next(); ok && ctx.Err() == nil; c, ok = o.next() {
		blk, err := b.bs.Get(ctx, c)
		if ipld.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		kids, err := links(blk)
		if err != nil {
			return err
		}
		o.push(kids)
	}
	return nil
}

// ExportFile writes the UnixFS file c to path atomically (mode 0644): the
// file appears complete or not at all.
func (b *Blocks) ExportFile(ctx context.Context, c cid.Cid, path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return fmt.Errorf("p2p export: %w", err)
	}
	defer os.Remove(f.Name())
	if err := b.Export(ctx, c, f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("p2p export: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("p2p export: %w", err)
	}
	return os.Rename(f.Name(), path)
}

func (b *Blocks) announce(c cid.Cid) {
	if b.provide != nil {
		b.provide(c)
	}
}

// pebbleOptions sizes pebble for what it holds now that large leaves live
// in blob files: records, contributions, UnixFS nodes and small leaves.
// Pebble's default 4 MiB memtable keeps the resident memory a long-running
// node spends on memtables small: with 64 MiB, and still with 16 MiB, the
// 100-round soak saw RSS creep by tens of MiB as memtables filled.
func pebbleOptions() *pebble.Options {
	return &pebble.Options{MemTableSize: 4 << 20}
}

// storeLogger is pebble's logger. Pebble stops the process when a write to
// its log fails (a full disk, a file system gone read-only), since its
// commit pipeline cannot go on; Fatalf says so on stderr, with the store's
// directory and what to do, before exiting with status 1. What was stored
// before stays intact: the store recovers from its log on the next open.
type storeLogger struct {
	dir string
	log *slog.Logger
}

func (l storeLogger) Infof(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...), "subsystem", "pebble")
}

func (l storeLogger) Errorf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...), "subsystem", "pebble")
}

func (l storeLogger) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "coldnode: block store %s stopped the process: %s\n"+
		"  hint: free space on its file system or make it writable again, check it with `coldnode repo verify`, then start the node again\n",
		l.dir, fmt.Sprintf(format, args...))
	os.Exit(1)
}
