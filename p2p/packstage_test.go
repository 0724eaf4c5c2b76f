package p2p

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unsafe"
)

// A pack file holds exactly the bytes written to it, whatever their sizes
// against the staging buffer and the alignment: staged and written
// around the page cache, and through it.
func TestPackFileBytes(t *testing.T) {
	sizes := []int{16, 1 << 20, 5, stageSize - 21, stageAlign, 3*stageSize + 7, 0, 16, 4095}
	for _, tc := range []struct {
		name string
		st   stages
	}{{"staged", newStages()}, {"page-cache", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.pack")
			p, err := openPackFile(path, tc.st)
			if err != nil {
				t.Fatal(err)
			}
			var want []byte
			for i, n := range sizes {
				b := randomBytes(n, uint64(i+1))
				if err := p.write(b); err != nil {
					t.Fatal(err)
				}
				want = append(want, b...)
			}
			if err := p.finish(); err != nil {
				t.Fatal(err)
			}
			if err := p.close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("pack holds %d bytes (%v), want the %d written", len(got), err, len(want))
			}
		})
	}
}

// Staging buffers start on a stageAlign boundary, and a closed pack's
// buffer goes to the next one.
func TestStagesAlignedAndReused(t *testing.T) {
	st := newStages()
	b := st.get()
	if len(b) != stageSize || addr(b)%stageAlign != 0 {
		t.Fatalf("staging buffer of %d bytes at %#x: want %d bytes on a %d-byte boundary", len(b), addr(b), stageSize, stageAlign)
	}
	st.put(b)
	if c := st.get(); addr(c) != addr(b) {
		t.Fatal("a kept buffer was not reused")
	}
	for range stagesKept + 2 {
		st.put(alignedBuffer(stageSize))
	}
	if len(st) != stagesKept {
		t.Fatalf("%d buffers kept, want at most %d", len(st), stagesKept)
	}
}

// addr is the address of b's first byte.
func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
