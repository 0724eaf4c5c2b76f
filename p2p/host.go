package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Node is a running libp2p host with its gossip router and block store.
// Create it with New and stop it with Close.
type Node struct {
	cfg     Config
	log     *slog.Logger
	key     crypto.PrivKey
	repoDir string
	host    host.Host
	dht     *dht.IpfsDHT // nil when Config.DHT is off
	ps      *pubsub.PubSub
	blocks  *Blocks
	disc    *discovery
	metrics *Metrics         // nil: none
	now     func() time.Time // the clock; time.Now unless WithClock
	guard   *guard           // flood limits and peer scores
	reject  func(from peer.ID, reason string)

	ctx    context.Context // cancelled by Close; lives as long as the node
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex // guards topics and closed
	topics map[string]*Topic
	closed bool
}

// ErrClosed is returned by methods of a closed Node or Topic.
var ErrClosed = errors.New("p2p: closed")

// New starts a host with identity key, its block store under repoDir/blocks
// and its known-peers file repoDir/peers.json. ctx only cancels start-up
// (an already cancelled ctx starts nothing); the node runs until Close. A nil
// logger discards logs.
func New(ctx context.Context, cfg Config, key crypto.PrivKey, repoDir string, logger *slog.Logger, opts ...Option) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("p2p: start: %w", err)
	}
	if key == nil || repoDir == "" {
		return nil, errors.New("p2p: New needs a key and a repository directory")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{cfg: cfg, log: logger, key: key, repoDir: repoDir, topics: map[string]*Topic{}, now: time.Now}
	for _, o := range opts {
		o(n)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if err := n.start(ctx); err != nil {
		n.cancel()
		n.closeParts()
		return nil, err
	}
	return n, nil
}

func (n *Node) start(ctx context.Context) error {
	var err error
	if n.host, n.dht, err = newHost(n.cfg, n.key); err != nil {
		return err
	}
	n.guard = newGuard(n.cfg.Gossip, n.host.ID(), n.now)
	if n.ps, err = newPubSub(n.ctx, n.host, n.cfg.Gossip, n.guard, n.log); err != nil {
		return fmt.Errorf("p2p: start gossipsub: %w", err)
	}
	var finder contentFinder
	if n.dht != nil {
		finder = n.dht
	}
	if n.blocks, err = openBlocks(n.ctx, filepath.Join(n.repoDir, "blocks"), n.host, finder, n.log); err != nil {
		return err
	}
	n.blocks.metrics = n.metrics
	if n.dht != nil {
		n.startProvider()
	}
	n.disc = newDiscovery(n)
	return n.disc.start(ctx)
}

// ID returns the host's peer ID.
func (n *Node) ID() peer.ID { return n.host.ID() }

// Host exposes the libp2p host for protocols this package does not wrap.
func (n *Node) Host() host.Host { return n.host }

// Blocks returns the node's block store.
func (n *Node) Blocks() *Blocks { return n.blocks }

// Addrs returns the host's full multiaddrs (/ip4/.../tcp/.../p2p/<id>),
// sorted, for others to bootstrap from.
func (n *Node) Addrs() []ma.Multiaddr {
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()})
	if err != nil {
		return nil
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].String() < addrs[j].String() })
	return addrs
}

// Peers returns the connected peers, sorted.
func (n *Node) Peers() []peer.ID {
	ps := n.host.Network().Peers()
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

// Connect dials a full multiaddr (ending in /p2p/<id>) and remembers it.
func (n *Node) Connect(ctx context.Context, addr string) error {
	infos, err := ParseBootstrap([]string{addr})
	if err != nil {
		return fmt.Errorf("p2p connect: %w", err)
	}
	return n.connect(ctx, infos[0])
}

func (n *Node) connect(ctx context.Context, ai peer.AddrInfo) error {
	if ai.ID == n.host.ID() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	// Skip libp2p's dial backoff (5 s and up after a failed dial): redials
	// are already paced by ReconnectEvery, and a peer that just dropped us
	// must be reachable again at the next attempt.
	ctx = network.WithForceDirectDial(ctx, "coldnode redial")
	if err := n.host.Connect(ctx, ai); err != nil {
		return fmt.Errorf("p2p connect %s: %w", ai.ID, err)
	}
	return nil
}

// Close stops discovery, leaves every topic, saves the known peers, closes
// the block store and the host, and waits for every goroutine it started.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	topics := n.topicList()
	n.mu.Unlock()
	for _, t := range topics {
		t.Close()
	}
	if n.disc != nil {
		n.disc.stop()
	}
	n.cancel()
	n.wg.Wait()
	return n.closeParts()
}

func (n *Node) topicList() []*Topic {
	ts := make([]*Topic, 0, len(n.topics))
	for _, t := range n.topics {
		ts = append(ts, t)
	}
	return ts
}

// closeParts closes whatever start managed to open, in reverse order.
func (n *Node) closeParts() error {
	var errs []error
	if n.blocks != nil {
		errs = append(errs, n.blocks.Close())
	}
	if n.dht != nil {
		errs = append(errs, n.dht.Close())
	}
	if n.host != nil {
		errs = append(errs, n.host.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("p2p close: %w", err)
	}
	return nil
}

// go runs f in a goroutine the node waits for on Close.
func (n *Node) goFunc(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

func isQUIC(addr string) bool { return strings.Contains(addr, "/quic") }
