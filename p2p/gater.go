package p2p

import (
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// allowGater admits only the peers of a fixed allowlist. It is read-only after
// construction, so it needs no lock.
type allowGater struct {
	allow map[peer.ID]struct{}
}

var _ connmgr.ConnectionGater = (*allowGater)(nil)

func newAllowGater(self peer.ID, ids []peer.ID) *allowGater {
	g := &allowGater{allow: make(map[peer.ID]struct{}, len(ids)+1)}
	g.allow[self] = struct{}{}
	for _, id := range ids {
		g.allow[id] = struct{}{}
	}
	return g
}

func (g *allowGater) allowed(p peer.ID) bool {
	_, ok := g.allow[p]
	return ok
}

// InterceptPeerDial refuses to dial peers outside the allowlist.
func (g *allowGater) InterceptPeerDial(p peer.ID) bool { return g.allowed(p) }

// InterceptAddrDial refuses addresses of peers outside the allowlist.
func (g *allowGater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return g.allowed(p) }

// InterceptAccept lets the handshake run: the peer is not known yet.
func (g *allowGater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured drops a connection once the handshake reveals a peer
// outside the allowlist, in either direction.
func (g *allowGater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.allowed(p)
}

// InterceptUpgraded has nothing left to check.
func (g *allowGater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) {
	return true, 0
}
