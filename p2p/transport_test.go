package p2p

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestQUICOnly(t *testing.T) {
	quicOnly := func(c *Config) { c.ListenAddrs = []string{"/ip4/127.0.0.1/udp/0/quic-v1"} }
	a, b := newTestNode(t, quicOnly), newTestNode(t, quicOnly)
	if !strings.Contains(a.Addrs()[0].String(), "/quic-v1/p2p/12D3") {
		t.Fatalf("address %s is not a full QUIC multiaddr", a.Addrs()[0])
	}
	connectAll(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data := randomBytes(2<<20+3, 13)
	root, _ := a.Blocks().ImportBytes(ctx, data)
	if _, err := b.Blocks().Fetch(ctx, root, int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	checkExport(t, b.Blocks(), root, data)
}

func TestMDNSFindsPeers(t *testing.T) {
	service := fmt.Sprintf("coldnode-test-%d", time.Now().UnixNano())
	on := func(c *Config) { c.MDNS, c.MDNSService = true, service }
	a, b := newTestNode(t, on), newTestNode(t, on)
	eventually(t, 20*time.Second, "mDNS discovery", func() bool { return connected(a, b.ID()) })
}
