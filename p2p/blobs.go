package p2p

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/datastore/dshelp"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	ipld "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"
)

// Large raw blocks (the 1 MiB leaves of checkpoints) live outside pebble,
// one file each, so they are written once instead of through pebble's
// write-ahead log, memtable flush and compactions.
//
// Layout under the blob directory (flat: a node keeps thousands of leaves,
// not millions, and one directory costs one directory sync per batch):
//
//	<key>   one block: a 16-byte header, then the block's bytes
//	tmp/    files being written; emptied when the store opens
//
// key is the block's multihash in the blockstore's own key encoding (upper
// case base32). The header is "cnb1", the CRC-32C of the bytes and their
// length (big endian), so a truncated, extended or bit-rotted file is an
// error naming the block when it is read, without re-hashing the block.
//
// Crash safety, and durability as pebble's unsynced puts: a block is
// written to tmp/ and renamed into place only once complete, so a process
// crash leaves either no file under its name or the whole one. Files are
// not synced on every put (per-file fsyncs made fetches several times
// slower on a busy disk; pebble's puts are unsynced too). Instead, before
// the first unsynced rename the marker file .unsynced is made durable, and
// sync (at every pin change and at Close) fsyncs the files renamed since,
// then removes the marker. Opening a store whose marker survived a crash
// checks every block file's checksum and deletes the ones a machine crash
// left torn (as pebble drops a torn write-ahead log tail), before anything
// is read; leftovers in tmp/ are removed at every open.
const (
	// blobMin is the smallest raw block kept as a file.
	blobMin = 64 << 10
	// blobHeader is the size of a blob file's header.
	blobHeader = 16
	// blobTmp is the directory of files being written.
	blobTmp = "tmp"
	// blobUnsynced marks a blob directory with files not yet synced (not
	// base32, so never taken for a block).
	blobUnsynced = ".unsynced"
	// syncWorkers bounds the fsyncs sync runs at once.
	syncWorkers = 8
)

var blobMagic = [4]byte{'c', 'n', 'b', '1'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptBlob is returned when a stored block file fails its header,
// length or checksum check.
var ErrCorruptBlob = errors.New("p2p: stored block file is corrupt")

// blobStore keeps blocks as files under dir. Reads and writes of files need
// no lock (writes of the same block race harmlessly: both renames put
// identical bytes in place); mu guards the record of what is not synced.
type blobStore struct {
	dir   string
	packs *packStore // blocks a direct fetch packed; nil until openPacks

	mu       sync.Mutex
	unsynced map[string]bool // files renamed into place since the last sync
	writing  int             // puts that may be renaming files now
	marked   bool            // the .unsynced marker exists durably
}

// openBlobStore creates dir if needed, removes files left in its tmp/, and
// after a crash (the marker is there) deletes torn block files. It returns
// how many it deleted.
func openBlobStore(dir string) (*blobStore, int, error) {
	tmp := filepath.Join(dir, blobTmp)
	if err := os.RemoveAll(tmp); err != nil {
		return nil, 0, fmt.Errorf("p2p blobs: clear %s: %w", tmp, err)
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, 0, fmt.Errorf("p2p blobs: %w", err)
	}
	s := &blobStore{dir: dir, unsynced: map[string]bool{}}
	if _, err := os.Stat(filepath.Join(dir, blobUnsynced)); errors.Is(err, fs.ErrNotExist) {
		return s, 0, nil
	}
	torn, err := s.recoverFiles()
	if err != nil {
		return nil, 0, err
	}
	return s, torn, nil
}

// recoverFiles checks every block file after a crash, deletes the torn
// ones, syncs the rest and removes the marker.
func (s *blobStore) recoverFiles() (int, error) {
	files, err := s.files()
	if err != nil {
		return 0, err
	}
	torn := 0
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			return 0, fmt.Errorf("p2p blobs: recover: %w", err)
		}
		if len(raw) >= blobHeader && checkBlob(raw) == nil {
			s.unsynced[name] = true
			continue
		}
		if err := os.Remove(name); err != nil {
			return 0, fmt.Errorf("p2p blobs: recover: remove torn %s: %w", name, err)
		}
		torn++
	}
	s.marked = true
	return torn, s.sync()
}

// files lists the paths of every block file.
func (s *blobStore) files() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("p2p blobs: list %s: %w", s.dir, err)
	}
	var out []string
	for _, e := range ents {
		if _, err := dshelp.DsKeyToMultihash(ds.NewKey(e.Name())); err == nil && !e.IsDir() {
			out = append(out, filepath.Join(s.dir, e.Name()))
		}
	}
	return out, nil
}

// isBlob reports whether blk is stored as a file.
func isBlob(blk blocks.Block) bool {
	return blk.Cid().Prefix().Codec == cid.Raw && len(blk.RawData()) >= blobMin
}

func blobKey(h mh.Multihash) string { return dshelp.MultihashToDsKey(h).String()[1:] }

// name returns the file name of the block with hash h.
func (s *blobStore) name(h mh.Multihash) string { return filepath.Join(s.dir, blobKey(h)) }

func (s *blobStore) has(c cid.Cid) (bool, error) {
	if _, ok := s.packs.lookup(blobKey(c.Hash())); ok {
		return true, nil
	}
	name := s.name(c.Hash())
	_, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("p2p blobs: block %s: %w", c, err)
	}
	return true, nil
}

// size returns the block's length from its file's size.
func (s *blobStore) size(c cid.Cid) (int, error) {
	if e, ok := s.packs.lookup(blobKey(c.Hash())); ok {
		return e.size, nil
	}
	name := s.name(c.Hash())
	st, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, ipld.ErrNotFound{Cid: c}
	}
	if err != nil {
		return -1, fmt.Errorf("p2p blobs: block %s: %w", c, err)
	}
	if st.Size() < blobHeader {
		return -1, fmt.Errorf("%w: block %s: file %s is %d bytes, shorter than its header", ErrCorruptBlob, c, name, st.Size())
	}
	return int(st.Size() - blobHeader), nil
}

func (s *blobStore) get(c cid.Cid) (blocks.Block, error) {
	data, _, err := s.read(c, nil)
	if err != nil {
		return nil, err
	}
	return blocks.NewBlockWithCid(data, c)
}

// read returns the block's bytes and the buffer holding the whole file
// (buf when it was large enough, for reuse). A missing file is
// ipld.ErrNotFound; a file that fails its checks wraps ErrCorruptBlob and
// names the block.
func (s *blobStore) read(c cid.Cid, buf []byte) (data, file []byte, err error) {
	if e, ok := s.packs.lookup(blobKey(c.Hash())); ok {
		return s.packs.read(c, e, buf)
	}
	name := s.name(c.Hash())
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, ipld.ErrNotFound{Cid: c}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("p2p blobs: block %s: %w", c, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("p2p blobs: block %s: %w", c, err)
	}
	n := st.Size()
	if n < blobHeader || n > blobHeader+maxBlockSize {
		return nil, nil, fmt.Errorf("%w: block %s: file %s is %d bytes", ErrCorruptBlob, c, name, n)
	}
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, nil, fmt.Errorf("p2p blobs: read block %s: %w", c, err)
	}
	if err := checkBlob(buf); err != nil {
		return nil, nil, fmt.Errorf("%w: block %s (%s): %s", ErrCorruptBlob, c, name, err)
	}
	return buf[blobHeader:], buf, nil
}

// checkBlob checks a whole blob file's header against its body.
func checkBlob(file []byte) error {
	if [4]byte(file[:4]) != blobMagic {
		return fmt.Errorf("header %q is not %q", file[:4], blobMagic[:])
	}
	body := file[blobHeader:]
	if n := binary.BigEndian.Uint64(file[8:16]); n != uint64(len(body)) {
		return fmt.Errorf("header says %d bytes, file holds %d", n, len(body))
	}
	if sum := binary.BigEndian.Uint32(file[4:8]); sum != crc32.Checksum(body, castagnoli) {
		return fmt.Errorf("CRC-32C %08x does not match the bytes", sum)
	}
	return nil
}

func blobHeaderOf(data []byte) []byte {
	h := make([]byte, blobHeader)
	putBlobHeader(h, data)
	return h
}

// putBlobHeader writes data's header into h[:blobHeader].
func putBlobHeader(h, data []byte) {
	copy(h, blobMagic[:])
	binary.BigEndian.PutUint32(h[4:8], crc32.Checksum(data, castagnoli))
	binary.BigEndian.PutUint64(h[8:16], uint64(len(data)))
}

// put writes blks (each already checked against its CID by the caller or
// by construction): every new block to a file in tmp/, then, with the
// marker in place, renamed to its block's name. sync makes them durable.
func (s *blobStore) put(blks []blocks.Block) error {
	var temps []blobTemp
	defer func() {
		for _, t := range temps {
			if t.f != nil {
				t.f.Close()
				os.Remove(t.f.Name())
			}
		}
	}()
	for _, blk := range blks {
		if _, ok := s.packs.lookup(blobKey(blk.Cid().Hash())); ok {
			continue
		}
		if st, err := os.Stat(s.name(blk.Cid().Hash())); err == nil && st.Size() == int64(blobHeader+len(blk.RawData())) {
			continue // content-addressed: the file in place holds these bytes (a truncated one is replaced)
		}
		f, err := s.writeTemp(blk.RawData())
		if err != nil {
			return fmt.Errorf("p2p blobs: write block %s: %w", blk.Cid(), err)
		}
		temps = append(temps, blobTemp{f: f, c: blk.Cid()})
	}
	if len(temps) == 0 {
		return nil
	}
	if err := s.begin(); err != nil {
		return err
	}
	var placed []string
	defer func() { s.end(placed) }()
	for i := range temps {
		if err := s.place(&temps[i]); err != nil {
			return err
		}
		placed = append(placed, s.name(temps[i].c.Hash()))
	}
	return nil
}

// begin makes the marker durable (once until the next full sync) and
// counts a put that will rename files; end records the files it renamed.
func (s *blobStore) begin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.marked {
		if err := os.WriteFile(filepath.Join(s.dir, blobUnsynced), nil, 0o600); err != nil {
			return fmt.Errorf("p2p blobs: %w", err)
		}
		if err := syncDir(s.dir); err != nil {
			return err
		}
		s.marked = true
	}
	s.writing++
	return nil
}

func (s *blobStore) end(placed []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writing--
	for _, name := range placed {
		s.unsynced[name] = true
	}
}

// sync fsyncs the files renamed since the last sync and the directory,
// then, unless a put is renaming files meanwhile, removes the marker.
func (s *blobStore) sync() error {
	s.mu.Lock()
	names := s.unsynced
	s.unsynced = map[string]bool{}
	s.mu.Unlock()
	err := syncFiles(names)
	if err == nil {
		err = syncDir(s.dir)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		for name := range names {
			s.unsynced[name] = true // the next sync tries again
		}
		return err
	}
	if !s.marked || s.writing > 0 || len(s.unsynced) > 0 {
		return nil
	}
	if err := os.Remove(filepath.Join(s.dir, blobUnsynced)); err != nil {
		return fmt.Errorf("p2p blobs: %w", err)
	}
	s.marked = false
	return syncDir(s.dir)
}

// syncFiles fsyncs the named files, syncWorkers at a time (concurrent
// fsyncs share the file system's journal commits); files deleted since
// they were written are skipped.
func syncFiles(names map[string]bool) error {
	work := make(chan string)
	errs := make([]error, syncWorkers)
	var wg sync.WaitGroup
	for i := range syncWorkers {
		wg.Go(func() {
			for name := range work {
				if err := syncFile(name); err != nil && errs[i] == nil {
					errs[i] = err
				}
			}
		})
	}
	for name := range names {
		work <- name
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}

func syncFile(name string) error {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("p2p blobs: sync: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("p2p blobs: sync %s: %w", name, err)
	}
	return nil
}

// blobTemp is a block's file in tmp/ before it is renamed into place.
type blobTemp struct {
	f *os.File // nil once renamed
	c cid.Cid
}

// writeTemp writes header and data to a new file in tmp/.
func (s *blobStore) writeTemp(data []byte) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, blobTmp), "put-*")
	if err != nil {
		return nil, err
	}
	_, err = f.Write(blobHeaderOf(data))
	if err == nil {
		_, err = f.Write(data)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// place closes a temp file and renames it to its block's name.
func (s *blobStore) place(t *blobTemp) error {
	f := t.f
	t.f = nil
	err := f.Close()
	if err == nil {
		err = os.Rename(f.Name(), s.name(t.c.Hash()))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("p2p blobs: store block %s: %w", t.c, err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("p2p blobs: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("p2p blobs: sync %s: %w", dir, err)
	}
	return nil
}

// remove deletes the block's file and its packed copy; a missing block is
// not an error.
func (s *blobStore) remove(ctx context.Context, c cid.Cid) error {
	if err := s.packs.remove(ctx, c, blobKey(c.Hash())); err != nil {
		return err
	}
	name := s.name(c.Hash())
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("p2p blobs: delete block %s: %w", c, err)
	}
	s.mu.Lock()
	delete(s.unsynced, name)
	s.mu.Unlock()
	return nil
}

// keys sends the CID (raw codec, as the blockstore reports keys) of every
// stored block to out until ctx ends: the packed ones, then the files not
// also packed.
func (s *blobStore) keys(ctx context.Context, out chan<- cid.Cid) error {
	packed := map[string]bool{}
	names := s.packs.keys()
	files, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("p2p blobs: list %s: %w", s.dir, err)
	}
	for _, k := range names {
		packed[k] = true
	}
	for _, f := range files {
		if !packed[f.Name()] && !f.IsDir() {
			names = append(names, f.Name())
		}
	}
	for _, name := range names {
		h, err := dshelp.DsKeyToMultihash(ds.NewKey(name))
		if err != nil {
			continue // not a block file
		}
		select {
		case out <- cid.NewCidV1(cid.Raw, h):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// hybridStore is the node's blockstore: large raw blocks in a blobStore,
// everything else in the pebble blockstore it embeds. Lookups try the
// place a block of that codec most likely lives first, then the other, so
// a block is found wherever it was put.
type hybridStore struct {
	blockstore.Blockstore
	blobs *blobStore
}

var _ blockstore.Blockstore = (*hybridStore)(nil)

func blobFirst(c cid.Cid) bool { return c.Prefix().Codec == cid.Raw }

func (h *hybridStore) Has(ctx context.Context, c cid.Cid) (bool, error) {
	if !blobFirst(c) {
		if ok, err := h.Blockstore.Has(ctx, c); ok || err != nil {
			return ok, err
		}
		return h.blobs.has(c)
	}
	if ok, err := h.blobs.has(c); ok || err != nil {
		return ok, err
	}
	return h.Blockstore.Has(ctx, c)
}

func (h *hybridStore) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	if !blobFirst(c) {
		blk, err := h.Blockstore.Get(ctx, c)
		if !ipld.IsNotFound(err) {
			return blk, err
		}
		return h.blobs.get(c)
	}
	blk, err := h.blobs.get(c)
	if !ipld.IsNotFound(err) {
		return blk, err
	}
	return h.Blockstore.Get(ctx, c)
}

func (h *hybridStore) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	if !blobFirst(c) {
		n, err := h.Blockstore.GetSize(ctx, c)
		if !ipld.IsNotFound(err) {
			return n, err
		}
		return h.blobs.size(c)
	}
	n, err := h.blobs.size(c)
	if !ipld.IsNotFound(err) {
		return n, err
	}
	return h.Blockstore.GetSize(ctx, c)
}

func (h *hybridStore) Put(ctx context.Context, blk blocks.Block) error {
	if isBlob(blk) {
		return h.blobs.put([]blocks.Block{blk})
	}
	return h.Blockstore.Put(ctx, blk)
}

func (h *hybridStore) PutMany(ctx context.Context, blks []blocks.Block) error {
	var big, small []blocks.Block
	for _, blk := range blks {
		if isBlob(blk) {
			big = append(big, blk)
		} else {
			small = append(small, blk)
		}
	}
	if len(big) > 0 {
		if err := h.blobs.put(big); err != nil {
			return err
		}
	}
	if len(small) == 0 {
		return nil
	}
	return h.Blockstore.PutMany(ctx, small)
}

// DeleteBlock removes the block from both places.
func (h *hybridStore) DeleteBlock(ctx context.Context, c cid.Cid) error {
	if err := h.blobs.remove(ctx, c); err != nil {
		return err
	}
	return h.Blockstore.DeleteBlock(ctx, c)
}

// AllKeysChan lists pebble's blocks, then the block files.
func (h *hybridStore) AllKeysChan(ctx context.Context) (<-chan cid.Cid, error) {
	small, err := h.Blockstore.AllKeysChan(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan cid.Cid, 64)
	go func() {
		defer close(out)
		for c := range small {
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
		}
		h.blobs.keys(ctx, out) // an error ends the listing early, as documented for AllKeysChan
	}()
	return out, nil
}
