package p2p

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestMetricsCount(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Fatal("registered the same metrics twice")
	}
	a := newTestNode(t, nil)
	b, err := New(context.Background(), testConfig(), testKey(t), t.TempDir(), nil, WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	connectAll(t, a, b)
	ta, _ := a.Join("m", TopicHeads, nil)
	tb, _ := b.Join("m", TopicHeads, func(_ peer.ID, p []byte) Verdict {
		if string(p) == "bad" {
			return Reject
		}
		return Accept
	})
	ctx := context.Background()
	// Before a hears b's subscription a publish finds no peer (ErrNoPeers)
	// and the message is gone; on a loaded machine that can take seconds.
	eventually(t, 10*time.Second, "a to see b's subscription", func() bool { return len(ta.Peers()) == 1 })
	for _, p := range []string{"bad", "good"} {
		if err := ta.Publish(ctx, []byte(p)); err != nil {
			t.Fatalf("publish %q: %v", p, err)
		}
	}
	recvPayload(t, tb.Messages(), []byte("good"), 10*time.Second)
	eventually(t, 5*time.Second, "rejection counted", func() bool {
		return counterValue(t, m.gossip.WithLabelValues("rejected")) == 1
	})
	root, _ := a.Blocks().ImportBytes(ctx, randomBytes(1<<20+5, 12))
	if _, err := b.Blocks().Fetch(ctx, root, 2<<20, nil); err != nil {
		t.Fatal(err)
	}
	if got := counterValue(t, m.fetchBytes); got != 1<<20+5 {
		t.Fatalf("fetch bytes %v, want %d", got, 1<<20+5)
	}
	if got := counterValue(t, m.gossip.WithLabelValues("accepted")); got != 1 {
		t.Fatalf("accepted %v, want 1", got)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
