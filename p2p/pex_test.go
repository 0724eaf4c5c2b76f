package p2p

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestPeerExchangeMeshesASwarmFromOneBootstrap(t *testing.T) {
	fast := func(c *Config) { c.ExchangeEvery = 100 * time.Millisecond }
	hub := newTestNode(t, fast)
	leaves := []*Node{newTestNode(t, fast), newTestNode(t, fast), newTestNode(t, fast)}
	for _, l := range leaves {
		if err := l.Connect(context.Background(), hub.Addrs()[0].String()); err != nil {
			t.Fatal(err)
		}
	}
	for i, a := range leaves {
		for _, b := range leaves[i+1:] {
			eventually(t, 20*time.Second, "leaves meshed by peer exchange", func() bool { return connected(a, b.ID()) })
		}
	}
}

func TestPeerExchangeStopsAtWantPeers(t *testing.T) {
	manual := func(c *Config) { c.ExchangeEvery = time.Hour } // exchanges run only when called
	hub := newTestNode(t, manual)
	leaves := []*Node{newTestNode(t, manual), newTestNode(t, manual), newTestNode(t, manual)}
	for _, l := range leaves {
		if err := l.Connect(context.Background(), hub.Addrs()[0].String()); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, "hub sees three peers", func() bool { return len(hub.Peers()) == 3 })
	// The hub answers with the addresses identify gave it, which may come a
	// moment after the connection.
	eventually(t, 5*time.Second, "hub knows the leaves' listen addresses", func() bool {
		return knowsListenAddr(hub, leaves[2])
	})
	// A node with WantPeers 2 and two connections asks no one.
	leaves[0].cfg.WantPeers = 2
	if err := leaves[0].Connect(context.Background(), leaves[1].Addrs()[0].String()); err != nil {
		t.Fatal(err)
	}
	leaves[0].disc.exchange(0)
	if connected(leaves[0], leaves[2].ID()) {
		t.Fatalf("node at its WantPeers dialled %s anyway", leaves[2].ID())
	}
	leaves[0].cfg.WantPeers = 3
	leaves[0].disc.exchange(0)
	if !connected(leaves[0], leaves[2].ID()) {
		t.Fatalf("node short of WantPeers did not dial the hub's other peer %s", leaves[2].ID())
	}
}

func TestDecodePEXRejectsHostileAnswers(t *testing.T) {
	id := testNodeID(t)
	addr := `"/ip4/127.0.0.1/tcp/4001"`
	entry := fmt.Sprintf(`{"ID":%q,"Addrs":[%s]}`, id, addr)
	many := "[" + strings.Repeat(entry+",", pexMaxPeers) + entry + "]"
	cases := map[string]struct{ data, want string }{
		"not json":       {"{", "malformed answer"},
		"object":         {`{"ID":"x"}`, "malformed answer"},
		"bad peer id":    {`[{"ID":"nope","Addrs":[` + addr + `]}]`, "malformed answer"},
		"bad multiaddr":  {fmt.Sprintf(`[{"ID":%q,"Addrs":["/ip9/x"]}]`, id), "malformed answer"},
		"no addresses":   {fmt.Sprintf(`[{"ID":%q,"Addrs":[]}]`, id), "has 0 addresses"},
		"too many addrs": {fmt.Sprintf(`[{"ID":%q,"Addrs":[%s]}]`, id, strings.Repeat(addr+",", pexMaxAddrs)+addr), "has 9 addresses"},
		"too many peers": {many, "at most 32 allowed"},
		"oversized":      {strings.Repeat(" ", pexMaxBytes+1), "over 65536 bytes"},
	}
	for name, c := range cases {
		_, err := decodePEX(id, []byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), id.String()) {
			t.Errorf("%s: error %v, want one naming the peer and %q", name, err, c.want)
		}
	}
	infos, err := decodePEX(id, []byte("["+entry+"]"))
	if err != nil || len(infos) != 1 || infos[0].ID != id {
		t.Fatalf("valid answer: %v, %v", infos, err)
	}
}

func testNodeID(t *testing.T) peer.ID {
	t.Helper()
	id, err := peer.IDFromPrivateKey(testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// FuzzDecodePEX: any answer bytes give either an error naming the peer or
// a list within the protocol's bounds; nothing panics.
func FuzzDecodePEX(f *testing.F) {
	id, err := peer.Decode("12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`[{"ID":"12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf","Addrs":["/ip4/127.0.0.1/tcp/4001"]}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[{"ID":"","Addrs":null}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		infos, err := decodePEX(id, data)
		if err != nil {
			if !strings.Contains(err.Error(), id.String()) {
				t.Fatalf("error %q does not name the peer", err)
			}
			return
		}
		if len(infos) > pexMaxPeers {
			t.Fatalf("%d peers accepted, at most %d allowed", len(infos), pexMaxPeers)
		}
		for _, ai := range infos {
			if ai.ID == "" || len(ai.Addrs) == 0 || len(ai.Addrs) > pexMaxAddrs {
				t.Fatalf("entry out of bounds accepted: %v", ai)
			}
		}
	})
}

// knowsListenAddr reports whether n's peer store has p's listen address.
func knowsListenAddr(n, p *Node) bool {
	want := p.host.Addrs()
	for _, a := range n.host.Peerstore().Addrs(p.ID()) {
		for _, w := range want {
			if a.Equal(w) {
				return true
			}
		}
	}
	return false
}
