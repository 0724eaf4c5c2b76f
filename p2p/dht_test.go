package p2p

import (
	"context"
	"testing"
	"time"
)

// TestDHTNodesFetch starts two nodes with the DHT (and its NAT helpers) on
// and checks that the swarm still works end to end; the DHT is off in every
// other test.
func TestDHTNodesFetch(t *testing.T) {
	on := func(c *Config) { c.DHT = true }
	a := newTestNode(t, on)
	b := newTestNode(t, func(c *Config) { c.DHT = true; c.Bootstrap = []string{a.Addrs()[0].String()} })
	if a.dht == nil || b.dht == nil {
		t.Fatal("DHT not started")
	}
	eventually(t, 10*time.Second, "bootstrap connection", func() bool { return connected(b, a.ID()) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data := randomBytes(2<<20, 11)
	root, err := a.Blocks().ImportBytes(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Blocks().Fetch(ctx, root, int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	checkExport(t, b.Blocks(), root, data)
}
