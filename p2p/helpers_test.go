package p2p

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// testConfig is a loopback TCP host with no mDNS and no DHT.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.MDNS = false
	cfg.ReconnectEvery = 200 * time.Millisecond
	cfg.Gossip.PublishWait = 10 * time.Second
	return cfg
}

func testKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newTestNode starts a node in a fresh repository and closes it at cleanup.
func newTestNode(t testing.TB, mod func(*Config)) *Node {
	t.Helper()
	return startNode(t, mod, testKey(t), t.TempDir())
}

func startNode(t testing.TB, mod func(*Config), key crypto.PrivKey, repo string) *Node {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(&cfg)
	}
	n, err := New(context.Background(), cfg, key, repo, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// connectAll connects every pair of nodes.
func connectAll(t testing.TB, ns ...*Node) {
	t.Helper()
	for i := range ns {
		for j := i + 1; j < len(ns); j++ {
			if err := ns[i].Connect(context.Background(), ns[j].Addrs()[0].String()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// eventually polls cond every 20 ms until it holds or the wait runs out.
func eventually(t testing.TB, wait time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", wait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func connected(n *Node, p peer.ID) bool {
	for _, q := range n.Peers() {
		if q == p {
			return true
		}
	}
	return false
}

func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := rng.Uint64()
		for k := 0; k < 8; k++ {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	return b
}

// recv waits for one message on ch.
func recv(t testing.TB, ch <-chan Message, wait time.Duration) Message {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("messages channel closed")
		}
		return m
	case <-time.After(wait):
		t.Fatalf("no message within %v", wait)
		return Message{}
	}
}

// recvPayload waits for a remote message with the payload want, skipping others.
func recvPayload(t testing.TB, ch <-chan Message, want []byte, wait time.Duration) Message {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		m := recv(t, ch, time.Until(deadline))
		if bytes.Equal(m.Payload, want) {
			return m
		}
	}
}
