package p2p

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
)

// discovery keeps the node connected: it dials bootstrap and remembered
// peers at start and whenever connections run low, connects peers found by
// mDNS, and saves the known peers to disk. Its two goroutines are owned by
// the Node.
type discovery struct {
	n     *Node
	boot  []peer.AddrInfo
	known *knownPeers
	mdns  mdns.Service // nil when MDNS is off
	found chan peer.AddrInfo
}

func newDiscovery(n *Node) *discovery {
	return &discovery{n: n, found: make(chan peer.AddrInfo, 64),
		known: newKnownPeers(peersFile(n.repoDir), n.log)}
}

func (d *discovery) start(context.Context) error {
	boot, err := ParseBootstrap(d.n.cfg.Bootstrap)
	if err != nil {
		return err
	}
	d.boot = boot
	if err := d.known.load(); err != nil {
		d.n.log.Warn("known peers file unreadable; starting without it", "err", err)
	}
	if d.n.cfg.MDNS {
		d.mdns = mdns.NewMdnsService(d.n.host, d.n.cfg.MDNSService, d)
		if err := d.mdns.Start(); err != nil {
			return fmt.Errorf("p2p: start mDNS: %w", err)
		}
	}
	d.n.goFunc(d.maintainLoop)
	d.n.goFunc(d.mdnsLoop)
	if d.n.cfg.WantPeers > 0 {
		d.n.host.SetStreamHandler(PEXProtocol, d.n.servePEX)
		d.n.goFunc(d.pexLoop)
	}
	return nil
}

// stop ends mDNS; the loops end when the node's context is cancelled.
func (d *discovery) stop() {
	if d.mdns != nil {
		if err := d.mdns.Close(); err != nil {
			d.n.log.Debug("close mDNS", "err", err)
		}
	}
}

// HandlePeerFound is called by mDNS; it must not block.
func (d *discovery) HandlePeerFound(ai peer.AddrInfo) {
	select {
	case d.found <- ai:
	default:
	}
}

func (d *discovery) mdnsLoop() {
	for {
		select {
		case <-d.n.ctx.Done():
			return
		case ai := <-d.found:
			if d.n.host.Network().Connectedness(ai.ID) == network.Connected {
				continue
			}
			d.n.goFunc(func() { d.dialOrdered(ai, "mDNS peer unreachable") })
		}
	}
}

// dialYield is how long the peer with the greater ID waits for the other
// to dial it when both may dial each other at once (peers that found each
// other by mDNS; redials of bootstrap and remembered peers do not wait, or
// a restarted node would reconnect late to peers that do not know it). Both
// would dial from their listening ports (TCP port reuse) to each other's,
// which makes a TCP simultaneous open: one connection on which both sides
// start a TLS client handshake, so both dials fail and then back off.
const dialYield = 2 * time.Second

// dialOrdered connects to ai unless already connected: at once when this
// peer's ID is the lesser, else only if no connection came within
// dialYield. A failure is logged with msg.
func (d *discovery) dialOrdered(ai peer.AddrInfo, msg string) {
	if d.n.host.ID() > ai.ID {
		t := time.NewTimer(dialYield)
		defer t.Stop()
		select {
		case <-d.n.ctx.Done():
			return
		case <-t.C:
		}
	}
	if d.n.host.Network().Connectedness(ai.ID) == network.Connected {
		return
	}
	if err := d.n.connect(d.n.ctx, ai); err != nil {
		d.n.log.Debug(msg, "peer", ai.ID, "err", err)
	}
}

func (d *discovery) maintainLoop() {
	d.reconnect()
	t := time.NewTicker(d.n.cfg.ReconnectEvery)
	defer t.Stop()
	for {
		select {
		case <-d.n.ctx.Done():
			d.save()
			return
		case <-t.C:
			d.save()
			peers := len(d.n.host.Network().Peers())
			d.n.metrics.setPeers(peers)
			if peers < d.n.cfg.LowPeers {
				d.reconnect()
			}
		}
	}
}

// reconnect dials every bootstrap and remembered peer not connected, in
// parallel, and waits for the dials.
func (d *discovery) reconnect() {
	var wg sync.WaitGroup
	for _, ai := range append(append([]peer.AddrInfo{}, d.boot...), d.known.list()...) {
		if d.n.host.Network().Connectedness(ai.ID) == network.Connected {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.n.connect(d.n.ctx, ai); err != nil {
				d.n.log.Debug("peer unreachable", "peer", ai.ID, "err", err)
			}
		}()
	}
	wg.Wait()
}

// save records the addresses of the connected peers.
func (d *discovery) save() {
	h := d.n.host
	var infos []peer.AddrInfo
	for _, p := range h.Network().Peers() {
		if addrs := h.Peerstore().Addrs(p); len(addrs) > 0 {
			infos = append(infos, peer.AddrInfo{ID: p, Addrs: addrs})
		}
	}
	if err := d.known.save(infos); err != nil {
		d.n.log.Warn("save known peers", "err", err)
	}
}

// DialBootstrap dials every configured bootstrap peer now, in parallel, and
// returns an error naming each failure when none could be reached (nil when
// there are no bootstrap peers). The discovery loop keeps redialling them
// whenever fewer than LowPeers are connected.
func (n *Node) DialBootstrap(ctx context.Context) error {
	boot := n.disc.boot
	errs := make([]error, len(boot))
	var wg sync.WaitGroup
	for i, ai := range boot {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.connect(ctx, ai)
		}()
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if failed > 0 && failed == len(boot) {
		return fmt.Errorf("p2p: no bootstrap peer reachable: %w", errors.Join(errs...))
	}
	return nil
}
