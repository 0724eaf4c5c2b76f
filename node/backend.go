package node

import (
	"context"
	"errors"
	"io"

	"github.com/coldnode/coldnode/p2p"
)

// setRunning publishes (or with nil withdraws) the running state for the
// API goroutines.
func (n *Node) setRunning(rt *runtime) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if rt == nil {
		n.net = nil
		return
	}
	n.net = rt.net
	select {
	case <-n.ready:
	default:
		close(n.ready)
	}
}

var errNotRunning = errors.New("node is not running")

func (n *Node) running() (*network, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.net == nil {
		return nil, errNotRunning
	}
	return n.net, nil
}

// Addrs returns the node's full multiaddrs while it runs.
func (n *Node) Addrs() []string {
	net, err := n.running()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range net.host.Addrs() {
		out = append(out, a.String())
	}
	return out
}

// ID implements Backend.
func (n *Node) ID(context.Context) (IDInfo, error) {
	net, err := n.running()
	if err != nil {
		return IDInfo{}, err
	}
	return IDInfo{Peer: net.host.ID().String(), Addrs: n.Addrs(), Swarm: n.cfg.Swarm, Online: true}, nil
}

// Peers implements Backend.
func (n *Node) Peers(context.Context) ([]PeerInfo, error) {
	net, err := n.running()
	if err != nil {
		return nil, err
	}
	out := []PeerInfo{}
	for _, p := range net.host.Peers() {
		pi := PeerInfo{Peer: p.String()}
		for _, a := range net.host.Host().Peerstore().Addrs(p) {
			pi.Addrs = append(pi.Addrs, a.String())
		}
		out = append(out, pi)
	}
	return out, nil
}

// Rounds implements Backend.
func (n *Node) Rounds(context.Context) ([]RoundInfo, error) { return n.repo.Index().Rounds() }

// Round implements Backend.
func (n *Node) Round(_ context.Context, r int64) (RoundInfo, error) { return n.repo.Index().Round(r) }

// Show implements Backend.
func (n *Node) Show(ctx context.Context, c string) (Object, error) {
	net, err := n.running()
	if err != nil {
		return Object{}, err
	}
	return showObject(ctx, net.blocks, c)
}

// Export implements Backend.
func (n *Node) Export(ctx context.Context, c string, head HeadMode, w io.Writer) error {
	net, err := n.running()
	if err != nil {
		return err
	}
	return exportFile(ctx, net.blocks, n.repo, c, head, w)
}

var _ Backend = (*Node)(nil)

// blocksDir is where p2p keeps the block store inside a repository.
func blocksDir(r *Repo) string { return r.File("blocks") }

// openBlocks opens the repository's block store without a network.
func (o *Offline) openBlocks() (*p2p.Blocks, error) {
	if o.blocks == nil {
		b, err := p2p.OpenBlocks(blocksDir(o.repo), nil)
		if err != nil {
			return nil, err
		}
		o.blocks = b
	}
	return o.blocks, nil
}
