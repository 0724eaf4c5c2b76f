//go:build linux && (amd64 || arm64)

package p2p

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"
)

// An imported file's pack is on disk but not in the page cache, where the
// file system takes direct writes; a fetch's pack of the same DAG goes
// through the page cache, all of whose pages then hold it.
func TestImportPacksBypassPageCache(t *testing.T) {
	requireDirect(t)
	f := newDAGFixture(t) // f.src imported the file
	checkPackCached(t, f.src, false)
	checkPackCached(t, f.fetchInto(t, t.TempDir()), true)
}

// A fetch that gathers its file in memory writes its pack around the
// page cache too: its caller reads the file from that memory.
func TestGatheredFetchPacksBypassPageCache(t *testing.T) {
	requireDirect(t)
	f, ctx := sinkFixture(t, randomBytes(3<<20, 16))
	var into []byte
	if data, err := f.fetchFromInto(ctx, f.root, &into, 1<<30); err != nil || data == nil {
		t.Fatalf("gathered %d bytes (%v), want the file", len(data), err)
	}
	checkPackCached(t, f.dst, false)
}

// requireDirect skips a test where the test directory's file system
// refuses O_DIRECT.
func requireDirect(t *testing.T) {
	t.Helper()
	probe, err := os.Create(filepath.Join(t.TempDir(), "probe"))
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	if !setDirect(probe, true) {
		t.Skip("the test directory's file system refuses O_DIRECT")
	}
}

// checkPackCached requires n's one pack to be all in the page cache, or
// (but for a page) none of it.
func checkPackCached(t *testing.T, n *Node, all bool) {
	t.Helper()
	packs := packFiles(t, n)
	if len(packs) != 1 {
		t.Fatalf("pack files %v, want one", packs)
	}
	cached, pages := residentPages(t, packs[0])
	if all && cached < pages || !all && cached > 1 {
		t.Fatalf("%d of the pack's %d pages are in the page cache, want all: %v", cached, pages, all)
	}
}

// residentPages maps the file and counts its pages in the page cache
// (mincore).
func residentPages(t *testing.T, path string) (resident, pages int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(m)
	pages = (len(m) + os.Getpagesize() - 1) / os.Getpagesize()
	vec := make([]byte, pages)
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatal(errno)
	}
	for _, v := range vec {
		resident += int(v & 1)
	}
	return resident, pages
}

// A direct write the file system refuses (here: a buffer off the
// alignment O_DIRECT needs) is written through the page cache instead,
// and the pack holds the bytes.
func TestPackFileFallsBackFromRefusedDirectWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.pack")
	p, err := openPackFile(path, newStages())
	if err != nil {
		t.Fatal(err)
	}
	if p.buf == nil {
		t.Skip("the test directory's file system refuses O_DIRECT")
	}
	p.buf = alignedBuffer(stageSize + 1)[1:] // misaligned: the direct write fails with EINVAL
	want := randomBytes(stageSize+100, 5)
	if err := p.write(want); err != nil {
		t.Fatal(err)
	}
	if err := p.finish(); err != nil {
		t.Fatalf("finish after a refused direct write: %v", err)
	}
	if err := p.close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("pack holds %d bytes (%v), want the %d written", len(got), err, len(want))
	}
}
