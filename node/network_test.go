package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/p2p"
	"github.com/libp2p/go-libp2p/core/peer"
)

// testHost starts a loopback-only p2p host in dir.
func testHost(t *testing.T, dir string, edit func(*p2p.Config), opts ...p2p.Option) *p2p.Node {
	t.Helper()
	key, err := p2p.LoadOrCreateIdentity(filepath.Join(dir, "identity.key"))
	if err != nil {
		t.Fatal(err)
	}
	pc := p2p.DefaultConfig()
	pc.ListenAddrs, pc.MDNS = []string{"/ip4/127.0.0.1/tcp/0"}, false
	if edit != nil {
		edit(&pc)
	}
	h, err := p2p.New(context.Background(), pc, key, dir, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// The node gossips on exactly the protocol's topic, wire.Topic(swarm).
func TestJoinsWireTopic(t *testing.T) {
	swarm := wire.CIDOf([]byte("a genesis"))
	net := &network{host: testHost(t, t.TempDir(), nil)}
	if err := net.joinRounds(swarm, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := net.topic.Name(), wire.Topic(swarm); got != want {
		t.Fatalf("joined %q, want wire.Topic %q", got, want)
	}
}

// peerOf creates the identity of a repository and returns its peer ID.
func peerOf(t *testing.T, dir string) peer.ID {
	t.Helper()
	key, err := p2p.LoadOrCreateIdentity(filepath.Join(dir, "identity.key"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// startBackground runs a node until the test ends and returns it once ready.
func startBackground(t *testing.T, dir string, edit func(*Config)) *Node {
	t.Helper()
	repo, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Listen, cfg.API, cfg.NoMDNS, cfg.Epochs = []string{"/ip4/127.0.0.1/tcp/0"}, "", true, 1
	cfg.BuildSpread, cfg.TickInterval = 10*time.Millisecond, 20*time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	n, err := New(repo, cfg, WithTask(tinyTask()), WithMetrics(NoopMetrics()))
	if err != nil {
		t.Fatal(err)
	}
	runUntilCleanup(t, n, repo)
	return n
}

// The genesis allowlist is enforced by the connection gater: a node outside
// it cannot even fetch the genesis from an allowlisted node, while a node on
// the list joins.
func TestAllowlistGatesConnections(t *testing.T) {
	dirA, dirIn, dirOut := t.TempDir(), t.TempDir(), t.TempDir()
	opt := DefaultInitOptions()
	opt.Model, opt.Task = "mlp", tinyTask()
	opt.Params.Quorum, opt.Params.Window = 1, 0
	opt.Params.Allow = sortedIDs(peerOf(t, dirA), peerOf(t, dirIn))
	swarm, err := Init(context.Background(), dirA, opt)
	if err != nil {
		t.Fatal(err)
	}
	a := startBackground(t, dirA, nil)
	join := func(c *Config) { c.Swarm, c.Bootstrap, c.GenesisTimeout = swarm, a.Addrs()[:1], 5*time.Second }
	in := startBackground(t, dirIn, join)
	if id, _ := in.ID(context.Background()); id.Swarm != swarm {
		t.Fatalf("allowlisted node joined %q, want %q", id.Swarm, swarm)
	}

	repo, err := Open(dirOut)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	cfg := DefaultConfig()
	cfg.Listen, cfg.API, cfg.NoMDNS = []string{"/ip4/127.0.0.1/tcp/0"}, "", true
	join(&cfg)
	out, err := New(repo, cfg, WithTask(tinyTask()), WithMetrics(NoopMetrics()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The gater drops the connection after the handshake, so the dial
	// itself may look successful; either way nothing is served.
	err = out.Run(ctx)
	if err == nil || !(strings.Contains(err.Error(), "no bootstrap peer reachable") ||
		strings.Contains(err.Error(), "no peer served swarm")) {
		t.Fatalf("a node outside the allowlist: err = %v, want refused connections", err)
	}
	if gb, _ := localGenesis(context.Background(), repo, mustCID(swarm)); gb != nil {
		t.Fatal("a node outside the allowlist fetched the genesis")
	}
	net, err := a.running()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range net.host.Peers() {
		if p == peerOf(t, dirOut) {
			t.Fatal("the allowlisted node kept a connection from an outsider")
		}
	}
}

func sortedIDs(ids ...peer.ID) []peer.ID {
	sortPeers(ids)
	return ids
}

// A --listen port someone already holds is refused before libp2p starts,
// whether TCP or UDP; port 0 and unparsable addresses are not probed.
func TestCheckListenBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	busy := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)
	if err := checkListen([]string{"/ip4/127.0.0.1/tcp/0", busy}); !errors.Is(err, ErrPortBusy) {
		t.Fatalf("busy TCP port: err = %v, want ErrPortBusy", err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	udp := fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", pc.LocalAddr().(*net.UDPAddr).Port)
	if err := checkListen([]string{udp}); !errors.Is(err, ErrPortBusy) {
		t.Fatalf("busy UDP port: err = %v, want ErrPortBusy", err)
	}
	l.Close()
	if err := checkListen([]string{busy, "/dns4/example.com/tcp/1"}); err != nil {
		t.Fatalf("freed port: %v", err)
	}
}

// The node hands its bootstrap peers, redial settings and the genesis
// allowlist to p2p, which redials and gates with them.
func TestP2PConfigCarriesBootstrapAndAllow(t *testing.T) {
	n := &Node{cfg: DefaultConfig()}
	n.cfg.Bootstrap = []string{"/ip4/127.0.0.1/tcp/4011/p2p/12D3KooWSADS2KAigAacGnF9L99Tn5pSoo8S9jpcD6QGyEHRfR7C"}
	n.cfg.LowPeers, n.cfg.ReconnectEvery = 2, 3*time.Second
	allow := sortedIDs(peerOf(t, t.TempDir()))
	pc := n.p2pConfig(nil, allow)
	if len(pc.Bootstrap) != 1 || pc.Bootstrap[0] != n.cfg.Bootstrap[0] {
		t.Fatalf("bootstrap %v, want the node's", pc.Bootstrap)
	}
	if pc.LowPeers != 2 || pc.ReconnectEvery != 3*time.Second || len(pc.Allow) != 1 || pc.Allow[0] != allow[0] {
		t.Fatalf("p2p config %+v", pc)
	}
	if err := pc.Validate(); err != nil {
		t.Fatal(err)
	}
	if d := (&Node{cfg: DefaultConfig()}).p2pConfig(nil, nil); d.LowPeers != p2p.DefaultConfig().LowPeers || d.Allow != nil {
		t.Fatalf("defaults not kept: %+v", d)
	}
}
