//go:build linux

package node

import (
	"os"
	"syscall"
	"testing"
	"unsafe"
)

// The buffers prepare makes are in memory, every page of them, before any
// fusion writes into them; buffer hands out each one once.
func TestHeldBasesPrepareTouchesPages(t *testing.T) {
	const size = 16 << 20
	h := newHeldBases(heldShare * (heldKeep + 2) * size)
	h.prepare(size)
	seen := map[*byte]bool{}
	for range heldKeep + 1 {
		b := h.buffer(size)
		if cap(b) < size || len(b) != 0 || seen[&b[:1][0]] {
			t.Fatalf("buffer: len %d, cap %d, handed out before: %v", len(b), cap(b), seen[&b[:1][0]])
		}
		seen[&b[:1][0]] = true
		if resident, pages := residentPages(t, b[:size]); resident < pages {
			t.Fatalf("%d of the buffer's %d pages are in memory, want all", resident, pages)
		}
	}
}

// residentPages counts the pages wholly inside b that are in memory
// (mincore).
func residentPages(t *testing.T, b []byte) (resident, pages int) {
	t.Helper()
	ps := uintptr(os.Getpagesize())
	lo := (uintptr(unsafe.Pointer(&b[0])) + ps - 1) &^ (ps - 1)
	hi := (uintptr(unsafe.Pointer(&b[0])) + uintptr(len(b))) &^ (ps - 1)
	pages = int((hi - lo) / ps)
	vec := make([]byte, pages)
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, lo, hi-lo, uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatal(errno)
	}
	for _, v := range vec {
		resident += int(v & 1)
	}
	return resident, pages
}
