//go:build linux && (amd64 || arm64)

package p2p

import (
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
	probe, err := os.Create(filepath.Join(t.TempDir(), "probe"))
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	if !setDirect(probe, true) {
		t.Skip("the test directory's file system refuses O_DIRECT")
	}
	f := newDAGFixture(t) // f.src imported the file
	checkPackCached(t, f.src, false)
	checkPackCached(t, f.fetchInto(t, t.TempDir()), true)
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
