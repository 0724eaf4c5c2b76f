package p2p

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// A File reads the stored bytes at any offset, and GC waits until it is
// closed.
func TestOpenReadsAtAnyOffset(t *testing.T) {
	bl, err := OpenBlocks(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	ctx := context.Background()
	data := randomBytes(3<<20+12345, 7)
	root, err := bl.ImportBytes(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	f, err := bl.Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != int64(len(data)) {
		t.Fatalf("size %d, want %d", f.Size(), len(data))
	}
	checkReadAt(t, f, data)
	gcDone := make(chan error, 1)
	go func() { _, err := bl.GC(ctx); gcDone <- err }()
	select {
	case err := <-gcDone:
		t.Fatalf("GC ran (err %v) while a file was open", err)
	case <-time.After(50 * time.Millisecond):
	}
	checkReadAt(t, f, data) // reads go on while GC waits
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-gcDone; err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(make([]byte, 10), 0); err == nil {
		t.Fatal("read after Close succeeded")
	}
}

func checkReadAt(t *testing.T, f *File, data []byte) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 40 {
		off := rng.IntN(len(data))
		n := rng.IntN(2 << 20)
		p := make([]byte, n)
		got, err := f.ReadAt(p, int64(off))
		want := min(n, len(data)-off)
		if got != want || !bytes.Equal(p[:got], data[off:off+want]) {
			t.Fatalf("ReadAt(%d bytes at %d): %d bytes, err %v; want %d", n, off, got, err, want)
		}
		if (want < n) != (err == io.EOF) {
			t.Fatalf("ReadAt(%d bytes at %d) short read %d with err %v", n, off, got, err)
		}
	}
	if _, err := f.ReadAt(make([]byte, 1), int64(len(data))); err != io.EOF {
		t.Fatalf("ReadAt at the end: %v, want EOF", err)
	}
}

// A goroutine holding the gate shared can take it shared again while GC
// waits for it (sync.RWMutex would deadlock here), and GC then runs once
// every shared hold is released.
func TestGateSharedTwiceWhileGCWaits(t *testing.T) {
	var g gcGate
	g.RLock()
	locked := make(chan struct{})
	go func() { g.Lock(); close(locked) }()
	time.Sleep(10 * time.Millisecond) // let Lock start waiting (either order passes)
	again := make(chan struct{})
	go func() { g.RLock(); close(again) }()
	select {
	case <-again:
	case <-time.After(10 * time.Second):
		t.Fatal("a second shared hold blocked behind a waiting exclusive one")
	}
	select {
	case <-locked:
		t.Fatal("exclusive hold taken while shared holds remain")
	default:
	}
	g.RUnlock()
	g.RUnlock()
	<-locked
	g.Unlock()
}
