package p2p

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// PEXProtocol is the peer exchange: a node that knows only its bootstrap
// peer asks its neighbours whom they are connected to and dials them, so a
// swarm started from one bootstrap address becomes a mesh. The requester
// opens a stream and closes its write side; the responder writes a JSON
// array of at most pexMaxPeers {"ID": peer id, "Addrs": [multiaddr...]}
// objects (at most pexMaxAddrs addresses each, pexMaxBytes in all) and
// closes the stream.
const PEXProtocol = "/coldnode/pex/1.0.0"

const (
	pexMaxPeers = 32
	pexMaxAddrs = 8
	pexMaxBytes = 64 << 10
	pexAsk      = 3 // neighbours asked per exchange
	pexTimeout  = 10 * time.Second
)

// servePEX answers one exchange with the connected peers other than the
// requester that have known addresses.
func (n *Node) servePEX(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(pexTimeout))
	infos := n.pexList(s.Conn().RemotePeer())
	if err := json.NewEncoder(s).Encode(infos); err != nil {
		n.log.Debug("peer exchange: answer", "peer", s.Conn().RemotePeer(), "err", err)
	}
}

// pexList returns up to pexMaxPeers connected peers (not except) with their
// addresses, in peer ID order.
func (n *Node) pexList(except peer.ID) []peer.AddrInfo {
	peers := n.host.Network().Peers()
	slices.Sort(peers)
	infos := make([]peer.AddrInfo, 0, min(len(peers), pexMaxPeers))
	for _, p := range peers {
		addrs := n.host.Peerstore().Addrs(p)
		if p == except || len(addrs) == 0 {
			continue
		}
		infos = append(infos, peer.AddrInfo{ID: p, Addrs: addrs[:min(len(addrs), pexMaxAddrs)]})
		if len(infos) == pexMaxPeers {
			break
		}
	}
	return infos
}

// askPEX asks p for its peers. A malformed or oversized answer is an error
// naming the peer.
func (n *Node) askPEX(ctx context.Context, p peer.ID) ([]peer.AddrInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, pexTimeout)
	defer cancel()
	s, err := n.host.NewStream(ctx, p, PEXProtocol)
	if err != nil {
		return nil, fmt.Errorf("peer exchange with %s: %w", p, err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(pexTimeout))
	_ = s.CloseWrite()
	data, err := io.ReadAll(io.LimitReader(s, pexMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("peer exchange with %s: read: %w", p, err)
	}
	return decodePEX(p, data)
}

// decodePEX parses and bounds one answer from p.
func decodePEX(p peer.ID, data []byte) ([]peer.AddrInfo, error) {
	if len(data) > pexMaxBytes {
		return nil, fmt.Errorf("peer exchange with %s: answer over %d bytes", p, pexMaxBytes)
	}
	var infos []peer.AddrInfo
	if err := json.Unmarshal(data, &infos); err != nil {
		return nil, fmt.Errorf("peer exchange with %s: malformed answer: %w", p, err)
	}
	if len(infos) > pexMaxPeers {
		return nil, fmt.Errorf("peer exchange with %s: %d peers, at most %d allowed", p, len(infos), pexMaxPeers)
	}
	for _, ai := range infos {
		if ai.ID == "" || len(ai.Addrs) == 0 || len(ai.Addrs) > pexMaxAddrs {
			return nil, fmt.Errorf("peer exchange with %s: entry %q has %d addresses, want 1 to %d",
				p, ai.ID, len(ai.Addrs), pexMaxAddrs)
		}
	}
	return infos, nil
}

// exchange runs when the node has fewer than WantPeers connections: it asks
// up to pexAsk neighbours (rotating through them by turn) for their peers
// and dials, in parallel, as many new ones as the node is short of.
func (d *discovery) exchange(turn int) {
	h := d.n.host
	peers := h.Network().Peers()
	short := d.n.cfg.WantPeers - len(peers)
	if short <= 0 || len(peers) == 0 {
		return
	}
	slices.Sort(peers)
	seen := map[peer.ID]bool{h.ID(): true}
	for _, p := range peers {
		seen[p] = true
	}
	var dial []peer.AddrInfo
	for i := 0; i < min(pexAsk, len(peers)) && len(dial) < short; i++ {
		from := peers[(turn+i)%len(peers)]
		infos, err := d.n.askPEX(d.n.ctx, from)
		if err != nil {
			d.n.log.Debug("peer exchange failed", "err", err)
			continue
		}
		dial = appendNew(dial, infos, seen, short)
	}
	d.dialAll(dial)
}

// appendNew adds the infos not yet seen to dial, up to limit entries.
func appendNew(dial, infos []peer.AddrInfo, seen map[peer.ID]bool, limit int) []peer.AddrInfo {
	for _, ai := range infos {
		if len(dial) == limit {
			break
		}
		if !seen[ai.ID] {
			seen[ai.ID] = true
			dial = append(dial, ai)
		}
	}
	return dial
}

// dialAll connects to every info in parallel and waits for the dials.
func (d *discovery) dialAll(infos []peer.AddrInfo) {
	var wg sync.WaitGroup
	for _, ai := range infos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.n.connect(d.n.ctx, ai); err != nil {
				d.n.log.Debug("exchanged peer unreachable", "peer", ai.ID, "err", err)
			}
		}()
	}
	wg.Wait()
}

// pexLoop runs an exchange every ExchangeEvery.
func (d *discovery) pexLoop() {
	t := time.NewTicker(d.n.cfg.ExchangeEvery)
	defer t.Stop()
	for turn := 0; ; turn++ {
		select {
		case <-d.n.ctx.Done():
			return
		case <-t.C:
			d.exchange(turn)
		}
	}
}
