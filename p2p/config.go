package p2p

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Config holds the tunables of a Node. Start from DefaultConfig.
type Config struct {
	// ListenAddrs are the multiaddrs to listen on. QUIC addresses are skipped
	// when PSK is set (libp2p private networks run over TCP only).
	ListenAddrs []string
	// Bootstrap are full multiaddrs (/ip4/.../tcp/.../p2p/12D3...) dialled at
	// start and whenever the node has fewer than LowPeers connections.
	Bootstrap []string
	// MDNS enables local-network discovery under MDNSService.
	MDNS        bool
	MDNSService string
	// DHT enables the Kademlia DHT (protocol prefix /coldnode) together with
	// AutoNAT, hole punching and the relay client. A swarm works without it.
	DHT bool
	// PSK is the 32-byte pre-shared key of a private swarm (see LoadSwarmKey);
	// nil means a public swarm.
	PSK []byte
	// Allow, when not empty, is the only set of peers the host connects to or
	// accepts connections from.
	Allow []peer.ID
	// Limits caps what the resource manager lets the host use.
	Limits Limits
	// LowPeers is the connection count under which bootstrap and known peers
	// are dialled again; ReconnectEvery is how often that is checked and the
	// known-peers file saved.
	LowPeers       int
	ReconnectEvery time.Duration
	// DialTimeout bounds one dial attempt.
	DialTimeout time.Duration
	// WantPeers is the connection count peer exchange (PEXProtocol) works
	// towards: every ExchangeEvery, a node with fewer connections asks its
	// neighbours for theirs and dials them. 0 turns the exchange off.
	WantPeers     int
	ExchangeEvery time.Duration
	// PeerStall is how long a direct fetch waits for the next block from one
	// peer before it moves on to the next holder (0: no limit).
	PeerStall time.Duration
	// Gossip tunes the topics.
	Gossip GossipConfig
}

// Limits are explicit resource-manager limits for the whole host.
type Limits struct {
	Conns          int   // open connections, both directions
	ConnsInbound   int   // inbound connections
	Streams        int   // open streams
	StreamsPerPeer int   // open streams to one peer
	Memory         int64 // bytes reserved by connections and streams
	FD             int   // file descriptors for connections
}

// GossipConfig tunes the gossip topics.
type GossipConfig struct {
	// MaxAge is how old (by the sender's clock) a message may be before it is
	// ignored; MaxSkew is how far in the future it may claim to be.
	MaxAge, MaxSkew time.Duration
	// Buffer is the capacity of each Topic.Messages channel; when the reader
	// falls behind, new messages are dropped and counted (Topic.Dropped).
	Buffer int
	// PublishWait bounds how long Publish waits for at least one peer in the
	// topic when the caller's context has no deadline.
	PublishWait time.Duration
	// FloodRate and FloodBurst throttle each author: a token bucket of
	// FloodBurst messages, refilled at FloodRate a second, shared by every
	// topic. A message over it is ignored, counted, and lowers the author's
	// application-specific peer score (see FloodPenalty). FloodRate 0: no limit.
	FloodRate  float64
	FloodBurst int
}

// DefaultConfig returns the configuration for a public swarm on all
// interfaces, ephemeral ports, mDNS on and DHT off.
func DefaultConfig() Config {
	return Config{
		ListenAddrs: []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"},
		MDNS:        true, MDNSService: "coldnode",
		Limits: Limits{Conns: 256, ConnsInbound: 128, Streams: 2048, StreamsPerPeer: 256,
			Memory: 512 << 20, FD: 512},
		LowPeers: 4, ReconnectEvery: 30 * time.Second, DialTimeout: 10 * time.Second,
		WantPeers: 32, ExchangeEvery: 5 * time.Second, PeerStall: 5 * time.Second,
		Gossip: GossipConfig{MaxAge: 10 * time.Minute, MaxSkew: time.Minute, Buffer: 1024,
			PublishWait: 10 * time.Second, FloodRate: 10, FloodBurst: 100},
	}
}

// Validate reports the first invalid setting.
func (c *Config) Validate() error {
	if len(c.ListenAddrs) == 0 {
		return errors.New("p2p config: no listen addresses")
	}
	for _, a := range c.ListenAddrs {
		if _, err := ma.NewMultiaddr(a); err != nil {
			return fmt.Errorf("p2p config: listen address %q: %w", a, err)
		}
	}
	if _, err := ParseBootstrap(c.Bootstrap); err != nil {
		return fmt.Errorf("p2p config: %w", err)
	}
	if c.PSK != nil && len(c.PSK) != 32 {
		return fmt.Errorf("p2p config: PSK is %d bytes, want 32 (see LoadSwarmKey)", len(c.PSK))
	}
	if c.MDNS && c.MDNSService == "" {
		return errors.New("p2p config: MDNS on with an empty MDNSService")
	}
	return c.validateNumbers()
}

func (c *Config) validateNumbers() error {
	l := c.Limits
	switch {
	case l.Conns <= 0 || l.ConnsInbound <= 0 || l.Streams <= 0 || l.StreamsPerPeer <= 0 || l.Memory <= 0 || l.FD <= 0:
		return fmt.Errorf("p2p config: every resource limit must be positive: %+v", l)
	case c.ReconnectEvery <= 0 || c.DialTimeout <= 0:
		return errors.New("p2p config: ReconnectEvery and DialTimeout must be positive")
	case c.WantPeers < 0 || (c.WantPeers > 0 && c.ExchangeEvery <= 0):
		return fmt.Errorf("p2p config: peer exchange towards %d peers every %v: want WantPeers >= 0 and, when on, a positive interval",
			c.WantPeers, c.ExchangeEvery)
	case c.Gossip.MaxAge <= 0 || c.Gossip.MaxSkew < 0 || c.Gossip.Buffer <= 0 || c.Gossip.PublishWait <= 0:
		return fmt.Errorf("p2p config: invalid gossip settings %+v", c.Gossip)
	case !(c.Gossip.FloodRate >= 0) || math.IsInf(c.Gossip.FloodRate, 0) || c.Gossip.FloodBurst < 0 ||
		(c.Gossip.FloodRate > 0 && c.Gossip.FloodBurst < 1):
		return fmt.Errorf("p2p config: flood limit %v messages/s with burst %d: want a finite rate >= 0 and, with a rate, a burst >= 1",
			c.Gossip.FloodRate, c.Gossip.FloodBurst)
	}
	return nil
}

// ParseBootstrap parses full peer multiaddrs, merging addresses of the same peer.
func ParseBootstrap(addrs []string) ([]peer.AddrInfo, error) {
	mas := make([]ma.Multiaddr, 0, len(addrs))
	for _, s := range addrs {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("bootstrap address %q: %w", s, err)
		}
		mas = append(mas, m)
	}
	infos, err := peer.AddrInfosFromP2pAddrs(mas...)
	if err != nil {
		return nil, fmt.Errorf("bootstrap addresses must end in /p2p/<peer ID>: %w", err)
	}
	return infos, nil
}
