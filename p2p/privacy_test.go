package p2p

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestIdentityCreatedOnceAndPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "repo", "identity.key")
	k1, err := LoadOrCreateIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	k2, err := LoadOrCreateIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	id1, _ := peer.IDFromPrivateKey(k1)
	id2, _ := peer.IDFromPrivateKey(k2)
	if id1 != id2 || !strings.HasPrefix(id1.String(), "12D3") {
		t.Fatalf("reloaded identity %s != %s (want an Ed25519 12D3... ID)", id2, id1)
	}
	os.Chmod(path, 0o644)
	if _, err := LoadOrCreateIdentity(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key: err = %v, want a chmod hint", err)
	}
	os.WriteFile(path, []byte("junk"), 0o600)
	if _, err := LoadOrCreateIdentity(path); err == nil {
		t.Fatal("junk key file accepted")
	}
}

func TestSwarmKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "swarm.key")
	psk, err := NewSwarmKey(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadSwarmKey(path)
	if err != nil || !bytes.Equal(got, psk) {
		t.Fatalf("reloaded %x (%v), want %x", got, err, psk)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), "/key/swarm/psk/1.0.0/\n/base16/\n") {
		t.Fatalf("file does not follow the kubo swarm.key format:\n%s", b)
	}
	if _, err := NewSwarmKey(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("overwrote an existing swarm key: err = %v", err)
	}
	if _, err := DecodeSwarmKey(strings.NewReader("/key/swarm/psk/1.0.0/\n/base16/\nabcd\n")); err == nil {
		t.Fatal("short key accepted")
	}
}

// dialFails reports whether from cannot stay connected to to. A dial may
// report success when the far side's gater drops the connection right after
// the handshake, so what counts is that neither side keeps a connection.
func dialFails(t *testing.T, from, to *Node) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	from.Connect(ctx, to.Addrs()[0].String())
	deadline := time.Now().Add(2 * time.Second)
	for connected(to, from.ID()) || connected(from, to.ID()) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func TestPrivateSwarmNeedsKey(t *testing.T) {
	psk := bytes.Repeat([]byte{7}, 32)
	withKey := func(c *Config) {
		c.PSK = psk
		c.ListenAddrs = append(c.ListenAddrs, "/ip4/127.0.0.1/udp/0/quic-v1")
	}
	a, b := newTestNode(t, withKey), newTestNode(t, withKey)
	connectAll(t, a, b)
	for _, addr := range a.Addrs() {
		if isQUIC(addr.String()) {
			t.Fatalf("private swarm listens on QUIC: %s", addr)
		}
	}
	outsider := newTestNode(t, nil)
	if !dialFails(t, outsider, a) {
		t.Fatal("a host without the swarm key connected to the private swarm")
	}
	other := newTestNode(t, func(c *Config) { c.PSK = bytes.Repeat([]byte{8}, 32) })
	if !dialFails(t, other, a) {
		t.Fatal("a host with another swarm key connected")
	}
}

func TestAllowlistRefusesOthers(t *testing.T) {
	b := newTestNode(t, nil)
	a := newTestNode(t, func(c *Config) { c.Allow = []peer.ID{b.ID()} })
	connectAll(t, a, b)
	c := newTestNode(t, nil)
	if !dialFails(t, c, a) {
		t.Fatal("a peer outside the allowlist connected (inbound)")
	}
	if !dialFails(t, a, c) {
		t.Fatal("the allowlisted host dialled a peer outside its list")
	}
}

func TestKnownPeersReconnectAfterRestart(t *testing.T) {
	b := newTestNode(t, nil)
	key, repo := testKey(t), t.TempDir()
	a, err := New(context.Background(), testConfig(), key, repo, nil)
	if err != nil {
		t.Fatal(err)
	}
	connectAll(t, a, b)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(repo, "peers.json")); err != nil {
		t.Fatalf("known peers not saved: %v", err)
	}
	eventually(t, 5*time.Second, "b to notice a left", func() bool { return !connected(b, a.ID()) })
	a2 := startNode(t, nil, key, repo) // no bootstrap: only the saved peers
	eventually(t, 10*time.Second, "restarted node to reconnect", func() bool { return connected(a2, b.ID()) })
}

func TestBootstrapConfig(t *testing.T) {
	b := newTestNode(t, nil)
	a := newTestNode(t, func(c *Config) { c.Bootstrap = []string{b.Addrs()[0].String()} })
	eventually(t, 10*time.Second, "bootstrap connection", func() bool { return connected(a, b.ID()) })
	cfg := testConfig()
	cfg.Bootstrap = []string{"/ip4/127.0.0.1/tcp/4001"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "/p2p/") {
		t.Fatalf("bootstrap address without a peer ID: err = %v", err)
	}
}

// When connections fall under LowPeers the discovery loop dials the
// bootstrap peers again, without the caller doing anything.
func TestBootstrapRedialWhenLow(t *testing.T) {
	b := newTestNode(t, nil)
	a := newTestNode(t, func(c *Config) { c.Bootstrap = []string{b.Addrs()[0].String()}; c.LowPeers = 1 })
	if err := a.DialBootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !connected(a, b.ID()) {
		t.Fatal("DialBootstrap returned without a connection")
	}
	for range 2 {
		// b must hold the connection before it closes it: a dialler's side
		// of a new connection is ready a moment before the listener's.
		eventually(t, 5*time.Second, "b to see a's connection", func() bool { return connected(b, a.ID()) })
		old := connIDs(a, b.ID())
		if err := b.Host().Network().ClosePeer(a.ID()); err != nil {
			t.Fatal(err)
		}
		// The redial may be quicker than any poll for the gap, so wait for
		// a connection that is not one of the closed ones.
		eventually(t, 10*time.Second, "a to redial its bootstrap peer", func() bool {
			for id := range connIDs(a, b.ID()) {
				if !old[id] {
					return true
				}
			}
			return false
		})
	}
	gone := newTestNode(t, nil)
	addr := gone.Addrs()[0].String()
	gone.Close()
	dead := newTestNode(t, func(c *Config) { c.Bootstrap = []string{addr} })
	if err := dead.DialBootstrap(context.Background()); err == nil {
		t.Fatal("DialBootstrap succeeded with every bootstrap peer down")
	}
}

func connIDs(n *Node, p peer.ID) map[string]bool {
	ids := map[string]bool{}
	for _, c := range n.Host().Network().ConnsToPeer(p) {
		ids[c.ID()] = true
	}
	return ids
}
