package p2p

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// TestNoGoroutinesLeftAfterClose runs gossip, a fetch and a re-announcer on
// two nodes, closes them and waits for the goroutine count to come back.
// libp2p and pubsub finish some goroutines just after Close returns, hence
// the grace period.
func TestNoGoroutinesLeftAfterClose(t *testing.T) {
	// Warm up process-wide goroutines (libp2p's and pebble's lazily started
	// singletons) so they are in the baseline.
	warm := newTestNode(t, nil)
	warm.Close()
	time.Sleep(200 * time.Millisecond)
	before := runtime.NumGoroutine()

	ctx := context.Background()
	a, err := New(ctx, testConfig(), testKey(t), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(ctx, testConfig(), testKey(t), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	connectAll(t, a, b)
	ta, _ := a.Join("leak", TopicHeads, nil)
	tb, _ := b.Join("leak", TopicHeads, nil)
	ta.Reannounce(50*time.Millisecond, func() [][]byte { return [][]byte{[]byte("x")} })
	eventually(t, 10*time.Second, "a to see b's subscription", func() bool { return len(ta.Peers()) == 1 })
	if err := ta.Publish(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	recvPayload(t, tb.Messages(), []byte("hello"), 10*time.Second)
	root, _ := a.Blocks().ImportBytes(ctx, randomBytes(3<<20, 9))
	if _, err := b.Blocks().Fetch(ctx, root, 4<<20, nil); err != nil {
		t.Fatal(err)
	}
	if runtime.NumGoroutine() <= before {
		t.Fatalf("the nodes started no goroutines (%d <= %d): the check would prove nothing", runtime.NumGoroutine(), before)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for range tb.Messages() { // Close closed the channel: this ends
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCloseTwiceAndJoinAfterClose(t *testing.T) {
	a := newTestNode(t, nil)
	tp, _ := a.Join("s", TopicHeads, nil)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := a.Join("s", TopicHeads, nil); err != ErrClosed {
		t.Fatalf("Join after Close: err = %v, want ErrClosed", err)
	}
	if err := tp.Publish(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: err = %v, want ErrClosed", err)
	}
	if _, ok := <-tp.Messages(); ok {
		t.Fatal("Messages still open after Close")
	}
}
