package p2p

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ipfs/boxo/datastore/dshelp"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/namespace"
	"github.com/ipfs/go-datastore/query"
	ipld "github.com/ipfs/go-ipld-format"
)

// The large leaves a direct fetch receives go to one pack file per fetch
// instead of a file each: creating a file cost more CPU on the fetcher than
// writing its 1 MiB (docs/benchmarks.md, transfer).
//
// Layout under the blob directory:
//
//	packs/<id>.pack    records, each one block exactly as a blob file holds
//	                   it: the 16-byte header ("cnb1", CRC-32C, length),
//	                   then the bytes; id is 16 random hex digits (random,
//	                   so that an index entry a crash brought back can
//	                   never point into a newer pack under a reused name)
//
// The index lives in the block store's pebble datastore under
// /coldnode/packs/<key> (key as for blob files): the pack's id, the
// record's offset and the block's length, 8 bytes each, big endian.
//
// Crash safety: a pack is appended to, then fsynced (its directory too),
// and only then are its records named in the index, in one batch. So every
// block the index names is durable, whatever pebble keeps of its own
// unsynced writes after a crash: a lost index batch leaves a pack nothing
// names, which the next open deletes. An index entry whose pack is gone or
// too short (a GC delete pebble did not keep) is dropped at open. Reads
// check the record's header and CRC-32C, as for blob files.
//
// GC deletes index entries; a pack's file is deleted with its last live
// block, and at the end of GC a pack whose live blocks fill less than half
// of it is compacted: its live records are copied to a new pack (synced,
// then indexed in one batch, as a fetch's), and the old file deleted.
const (
	packDir    = "packs"
	packSuffix = ".pack"
	// packMax is the size at which a fetch commits its pack and starts a
	// new one, so a huge DAG is not one file and becomes visible in steps.
	packMax = 256 << 20
	packLoc = 24 // bytes of an index value
	// packWriteBack is how many bytes a pack writer appends before it asks
	// the kernel to start writing them to disk, so the disk works while the
	// fetch goes on and the fsync at commit has little left to wait for.
	packWriteBack = 8 << 20
	writeBackPage = 4096 // write-back starts and ends on page boundaries
)

// packsPrefix is where the pack index lives in the block store's datastore.
var packsPrefix = ds.NewKey("/coldnode/packs")

// packStore is the index of packed blocks and their pack files. mu guards
// locs and live; pack files are written by one packWriter each and read
// without a lock.
type packStore struct {
	dir   string
	index ds.Batching
	// writeBack is packWriteBack, or 0 for no early write-back (the
	// benchmark's direct-nowb path); set before any fetch. It applies to
	// packs written through the page cache.
	writeBack int64
	// stages lends staging buffers to the packs Import writes around the
	// page cache (packstage.go).
	stages stages

	mu   sync.Mutex
	locs map[string]packEntry // blob key -> where the block is
	live map[uint64]int       // pack id -> blocks the index names in it (+1 while written)
}

// packEntry locates one block: its record starts at off in pack id.
type packEntry struct {
	id   uint64
	off  int64
	size int
}

func (e packEntry) value() []byte {
	v := make([]byte, packLoc)
	binary.BigEndian.PutUint64(v[0:], e.id)
	binary.BigEndian.PutUint64(v[8:], uint64(e.off))
	binary.BigEndian.PutUint64(v[16:], uint64(e.size))
	return v
}

func parsePackEntry(v []byte) (packEntry, bool) {
	if len(v) != packLoc {
		return packEntry{}, false
	}
	e := packEntry{id: binary.BigEndian.Uint64(v[0:]), off: int64(binary.BigEndian.Uint64(v[8:])),
		size: int(binary.BigEndian.Uint64(v[16:]))}
	return e, e.off >= 0 && e.size >= 0 && e.size <= maxBlockSize
}

// openPacks opens the pack store under the blob directory, its index in
// store: it drops index entries whose record is not all in its pack and
// deletes packs nothing names (a fetch a crash interrupted).
func (s *blobStore) openPacks(ctx context.Context, store ds.Batching) error {
	p := &packStore{dir: filepath.Join(s.dir, packDir), index: namespace.Wrap(store, packsPrefix),
		locs: map[string]packEntry{}, live: map[uint64]int{}, writeBack: packWriteBack, stages: newStages()}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return fmt.Errorf("p2p packs: %w", err)
	}
	sizes, err := p.files()
	if err != nil {
		return err
	}
	if err := p.load(ctx, sizes); err != nil {
		return err
	}
	for id := range sizes {
		if p.live[id] == 0 {
			if err := os.Remove(p.path(id)); err != nil {
				return fmt.Errorf("p2p packs: remove unused pack: %w", err)
			}
		}
	}
	s.packs = p
	return nil
}

// files returns the size of every pack file by id.
func (p *packStore) files() (map[uint64]int64, error) {
	ents, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, fmt.Errorf("p2p packs: list %s: %w", p.dir, err)
	}
	sizes := map[uint64]int64{}
	for _, e := range ents {
		id, ok := packID(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("p2p packs: %w", err)
		}
		sizes[id] = info.Size()
	}
	return sizes, nil
}

func packID(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, packSuffix)
	if !ok || len(hex) != 16 {
		return 0, false
	}
	id, err := strconv.ParseUint(hex, 16, 64)
	return id, err == nil
}

func (p *packStore) path(id uint64) string {
	return filepath.Join(p.dir, fmt.Sprintf("%016x%s", id, packSuffix))
}

// load reads the index, keeping the entries whose record lies inside its
// pack and deleting the others.
func (p *packStore) load(ctx context.Context, sizes map[uint64]int64) error {
	res, err := p.index.Query(ctx, query.Query{})
	if err != nil {
		return fmt.Errorf("p2p packs: read index: %w", err)
	}
	defer res.Close()
	var stale []ds.Key
	for r := range res.Next() {
		if r.Error != nil {
			return fmt.Errorf("p2p packs: read index: %w", r.Error)
		}
		key := ds.RawKey(r.Key)
		e, ok := parsePackEntry(r.Value)
		if !ok || e.off+blobHeader+int64(e.size) > sizes[e.id] {
			stale = append(stale, key)
			continue
		}
		p.locs[key.BaseNamespace()] = e
		p.live[e.id]++
	}
	if len(stale) == 0 {
		return nil
	}
	b, err := p.index.Batch(ctx)
	if err != nil {
		return fmt.Errorf("p2p packs: %w", err)
	}
	for _, k := range stale {
		if err := b.Delete(ctx, k); err != nil {
			return fmt.Errorf("p2p packs: %w", err)
		}
	}
	if err := b.Commit(ctx); err != nil {
		return fmt.Errorf("p2p packs: drop stale index entries: %w", err)
	}
	return nil
}

// lookup returns where the block with blob key k is packed.
func (p *packStore) lookup(k string) (packEntry, bool) {
	if p == nil {
		return packEntry{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.locs[k]
	return e, ok
}

// read reads block c's record into buf (reused when large enough) and
// checks it; it returns the block's bytes and the buffer.
func (p *packStore) read(c cid.Cid, e packEntry, buf []byte) (data, file []byte, err error) {
	f, err := os.Open(p.path(e.id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, ipld.ErrNotFound{Cid: c} // deleted since the lookup
	}
	if err != nil {
		return nil, nil, fmt.Errorf("p2p packs: block %s: %w", c, err)
	}
	defer f.Close()
	n := blobHeader + e.size
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := f.ReadAt(buf, e.off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("%w: block %s: pack %s ends inside its record", ErrCorruptBlob, c, f.Name())
		}
		return nil, nil, fmt.Errorf("p2p packs: read block %s: %w", c, err)
	}
	if err := checkBlob(buf); err != nil {
		return nil, nil, fmt.Errorf("%w: block %s (%s at %d): %s", ErrCorruptBlob, c, f.Name(), e.off, err)
	}
	return buf[blobHeader:], buf, nil
}

// remove deletes the index entry of blob key k, and the pack when that was
// its last block.
func (p *packStore) remove(ctx context.Context, c cid.Cid, k string) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.locs[k]
	if !ok {
		return nil
	}
	if err := p.index.Delete(ctx, ds.NewKey(k)); err != nil {
		return fmt.Errorf("p2p packs: delete block %s: %w", c, err)
	}
	delete(p.locs, k)
	p.drop(e.id)
	return nil
}

// keys returns the blob keys of every packed block.
func (p *packStore) keys() []string {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.locs))
	for k := range p.locs {
		out = append(out, k)
	}
	return out
}

// reserve returns a new pack's id, marked live until publish or release
// so that no remove deletes the file while it is written.
func (p *packStore) reserve() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		id := rand.Uint64()
		if _, used := p.live[id]; !used {
			p.live[id]++
			return id
		}
	}
}

// publish names a synced pack's records in the index (one batch) and then
// in memory, and drops the writer's reservation. A block packed meanwhile
// by another writer keeps its first place, unless move is set (compaction:
// the records move here from their old pack, deleted once it is empty).
func (p *packStore) publish(ctx context.Context, id uint64, recs []packRecord, move bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := p.index.Batch(ctx)
	if err != nil {
		return fmt.Errorf("p2p packs: %w", err)
	}
	var named []packRecord
	for _, r := range recs {
		if _, dup := p.locs[r.key]; dup && !move {
			continue
		}
		if err := b.Put(ctx, ds.NewKey(r.key), r.entry.value()); err != nil {
			return fmt.Errorf("p2p packs: %w", err)
		}
		named = append(named, r)
	}
	if err := b.Commit(ctx); err != nil {
		return fmt.Errorf("p2p packs: write index: %w", err)
	}
	for _, r := range named {
		if old, ok := p.locs[r.key]; ok {
			p.drop(old.id)
		}
		p.locs[r.key] = r.entry
		p.live[id]++
	}
	p.drop(id) // the reservation
	return nil
}

// drop counts one block less in pack id and deletes the pack when none is
// left. p.mu is held.
func (p *packStore) drop(id uint64) {
	if p.live[id]--; p.live[id] > 0 {
		return
	}
	delete(p.live, id)
	os.Remove(p.path(id))
}

// unreserve drops a reservation whose file was never created.
func (p *packStore) unreserve(id uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live[id]--; p.live[id] <= 0 {
		delete(p.live, id)
	}
}

// release drops a reservation whose pack was never published and deletes
// the file.
func (p *packStore) release(id uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drop(id)
}

// packRecord is a block written to a pack and not yet in the index.
type packRecord struct {
	key   string
	entry packEntry
}

// packWriter appends the large leaves of one fetch to packs: a pack is
// created at the first leaf, and committed (fsynced, then indexed) when it
// reaches packMax and at commit. One goroutine uses it.
type packWriter struct {
	s    *blobStore
	move bool // compaction: the records replace their blocks' entries
	// direct writes the packs around the page cache where they can be
	// (packstage.go): Import's, whose files (a fused base, the node's own
	// delta) nothing reads soon, and those of a fetch gathered in memory
	// (FetchFromInto); other fetches' deltas are read back by their check
	// at once, from the page cache.
	direct bool
	f      *packFile // nil: no pack open
	id     uint64
	off    int64
	sent   int64 // bytes of the pack whose write-back has been started
	recs   []packRecord
	hdr    [blobHeader]byte
}

func newPackWriter(s *blobStore, direct bool) *packWriter { return &packWriter{s: s, direct: direct} }

// add appends blk (already checked against its CID) unless the store
// holds it already.
func (w *packWriter) add(ctx context.Context, blk blocks.Block) error {
	if ok, err := w.s.has(blk.Cid()); ok || err != nil {
		return err
	}
	if err := w.append(blobKey(blk.Cid().Hash()), blk.RawData()); err != nil {
		return fmt.Errorf("p2p packs: write block %s: %w", blk.Cid(), err)
	}
	if w.off >= packMax {
		return w.commit(ctx)
	}
	return nil
}

// append writes one record for the block with blob key k.
func (w *packWriter) append(k string, data []byte) error {
	if w.f == nil {
		if err := w.open(); err != nil {
			return err
		}
	}
	putBlobHeader(w.hdr[:], data)
	if err := w.f.write(w.hdr[:]); err != nil {
		return err
	}
	if err := w.f.write(data); err != nil {
		return err
	}
	w.recs = append(w.recs, packRecord{key: k, entry: packEntry{id: w.id, off: w.off, size: len(data)}})
	w.off += int64(blobHeader + len(data))
	if w.f.buf == nil {
		w.writeBack()
	}
	return nil
}

// writeBack starts writing a pack written through the page cache to disk
// every writeBack bytes. Whole pages only: the next record's write goes
// into the last, partial page, which must not be under write-back then.
func (w *packWriter) writeBack() {
	end := w.off &^ (writeBackPage - 1)
	if wb := w.s.packs.writeBack; wb > 0 && end-w.sent >= wb {
		startWriteBack(w.f.f, w.sent, end-w.sent)
		w.sent = end
	}
}

func (w *packWriter) open() error {
	p := w.s.packs
	var f *packFile
	for {
		w.id = p.reserve()
		var err error
		f, err = openPackFile(p.path(w.id), w.stages())
		if err == nil {
			break
		}
		p.unreserve(w.id) // not release: the file there is not this writer's
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("p2p packs: %w", err)
		}
	}
	w.f, w.off, w.sent, w.recs = f, 0, 0, nil
	return nil
}

// stages lends the writer's packs staging buffers, or nil: through the
// page cache.
func (w *packWriter) stages() stages {
	if !w.direct {
		return nil
	}
	return w.s.packs.stages
}

// commit makes the open pack durable and names its blocks in the index.
// On an error the pack is deleted and none of its blocks is stored.
func (w *packWriter) commit(ctx context.Context) error {
	if w == nil || w.f == nil {
		return nil
	}
	f, p := w.f, w.s.packs
	w.f = nil
	err := f.finish()
	if err == nil {
		err = f.f.Sync()
	}
	if cerr := f.close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(p.dir)
	}
	if err == nil {
		err = p.publish(ctx, w.id, w.recs, w.move)
	}
	w.recs = nil
	if err != nil {
		p.release(w.id)
		return fmt.Errorf("p2p packs: commit %s: %w", f.f.Name(), err)
	}
	return nil
}

// abort deletes the open pack unpublished.
func (w *packWriter) abort() {
	if w == nil || w.f == nil {
		return
	}
	w.f.close()
	w.f = nil
	w.s.packs.release(w.id)
}

// compactPacks rewrites every pack whose live blocks fill less than half
// of its file into a new pack and deletes the old one, so GC frees the
// space of blocks it removed from a pack that still holds others. GC calls
// it under its exclusive lock. A pack with a record that fails its check
// is left as it is (Verify reports the block).
func (s *blobStore) compactPacks(ctx context.Context) error {
	if s == nil || s.packs == nil {
		return nil
	}
	for _, id := range s.packs.sparse() {
		if err := s.compactPack(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// sparse lists the packs whose live records fill less than half the file.
func (p *packStore) sparse() []uint64 {
	sizes, err := p.files()
	if err != nil {
		return nil
	}
	p.mu.Lock()
	used := map[uint64]int64{}
	for _, e := range p.locs {
		used[e.id] += int64(blobHeader + e.size)
	}
	p.mu.Unlock()
	var out []uint64
	for id, size := range sizes {
		if used[id] > 0 && 2*used[id] < size {
			out = append(out, id)
		}
	}
	return out
}

// records returns the live records of pack id in file order.
func (p *packStore) records(id uint64) []packRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []packRecord
	for k, e := range p.locs {
		if e.id == id {
			out = append(out, packRecord{key: k, entry: e})
		}
	}
	slices.SortFunc(out, func(a, b packRecord) int { return cmp.Compare(a.entry.off, b.entry.off) })
	return out
}

// compactPack copies pack id's live records to a new pack, which takes
// over their index entries; the old pack goes with its last entry.
func (s *blobStore) compactPack(ctx context.Context, id uint64) error {
	w := &packWriter{s: s, move: true}
	defer w.abort()
	var buf []byte
	for _, r := range s.packs.records(id) {
		h, err := dshelp.DsKeyToMultihash(ds.NewKey(r.key))
		if err != nil {
			return nil
		}
		data, file, err := s.packs.read(cid.NewCidV1(cid.Raw, h), r.entry, buf)
		if err != nil {
			return nil // left in place, for Verify to report
		}
		buf = file
		if err := w.append(r.key, data); err != nil {
			return fmt.Errorf("p2p packs: compact: %w", err)
		}
	}
	return w.commit(ctx)
}
