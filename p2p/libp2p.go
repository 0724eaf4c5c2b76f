package p2p

import (
	"fmt"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	yamux "github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	noise "github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// DHTPrefix keeps coldnode's DHT apart from the public IPFS DHT.
const DHTPrefix = "/coldnode"

// newHost builds the libp2p host (and the DHT when enabled) from cfg.
func newHost(cfg Config, key crypto.PrivKey) (host.Host, *dht.IpfsDHT, error) {
	self, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("p2p: peer ID of key: %w", err)
	}
	rm, err := resourceManager(cfg.Limits)
	if err != nil {
		return nil, nil, fmt.Errorf("p2p: resource manager: %w", err)
	}
	opts := append(baseOptions(cfg, key, rm), privacyOptions(cfg, self)...)
	var kad *dht.IpfsDHT
	if cfg.DHT {
		opts = append(opts, dhtOptions(cfg, &kad)...)
	} else {
		opts = append(opts, libp2p.DisableRelay())
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("p2p: start host: %w", err)
	}
	return h, kad, nil
}

func baseOptions(cfg Config, key crypto.PrivKey, rm network.ResourceManager) []libp2p.Option {
	var listen []string
	for _, a := range cfg.ListenAddrs {
		if cfg.PSK == nil || !isQUIC(a) {
			listen = append(listen, a)
		}
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		// TLS first: on loopback it carries 1.3-1.5x Noise's stream throughput
		// (docs/benchmarks.md); Noise stays for peers without TLS.
		libp2p.Security(libp2ptls.ID, newBatchedTLS),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(rm),
		libp2p.DisableMetrics(),
	}
	if cfg.PSK == nil {
		// libp2p private networks are TCP-only: QUIC cannot carry a PSK.
		opts = append(opts, libp2p.Transport(quic.NewTransport))
	}
	return opts
}

func privacyOptions(cfg Config, self peer.ID) []libp2p.Option {
	var opts []libp2p.Option
	if cfg.PSK != nil {
		opts = append(opts, libp2p.PrivateNetwork(cfg.PSK))
	}
	if len(cfg.Allow) > 0 {
		opts = append(opts, libp2p.ConnectionGater(newAllowGater(self, cfg.Allow)))
	}
	return opts
}

// dhtOptions turns on routing through a Kademlia DHT plus the NAT helpers
// that need it; the DHT built inside libp2p.New is stored in *out.
func dhtOptions(cfg Config, out **dht.IpfsDHT) []libp2p.Option {
	boot, _ := ParseBootstrap(cfg.Bootstrap) // validated by Config.Validate
	return []libp2p.Option{
		libp2p.Routing(func(h host.Host) (routing.PeerRouting, error) {
			d, err := dht.New(h, dht.Mode(dht.ModeAutoServer), dht.ProtocolPrefix(DHTPrefix),
				dht.BootstrapPeers(boot...))
			*out = d
			return d, err
		}),
		libp2p.EnableNATService(),
		libp2p.EnableHolePunching(),
		libp2p.EnableRelay(),
	}
}

// resourceManager applies Limits on top of libp2p's auto-scaled defaults.
func resourceManager(l Limits) (network.ResourceManager, error) {
	part := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			Conns: rcmgr.LimitVal(l.Conns), ConnsInbound: rcmgr.LimitVal(l.ConnsInbound),
			Streams: rcmgr.LimitVal(l.Streams), Memory: rcmgr.LimitVal64(l.Memory), FD: rcmgr.LimitVal(l.FD),
		},
		PeerDefault: rcmgr.ResourceLimits{Streams: rcmgr.LimitVal(l.StreamsPerPeer)},
	}
	limits := part.Build(rcmgr.DefaultLimits.AutoScale())
	return rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits))
}
