package node

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/coldnode/coldnode/p2p"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ID implements Backend: the peer ID of the repository's key.
func (o *Offline) ID(context.Context) (IDInfo, error) {
	info := IDInfo{Swarm: o.cfg.Swarm}
	if _, err := os.Stat(o.repo.IdentityPath()); err != nil {
		return info, nil
	}
	key, err := p2p.LoadOrCreateIdentity(o.repo.IdentityPath())
	if err != nil {
		return info, err
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return info, fmt.Errorf("identity: %w", err)
	}
	info.Peer = id.String()
	return info, nil
}

// Show implements Backend.
func (o *Offline) Show(ctx context.Context, c string) (Object, error) {
	bs, err := o.openBlocks()
	if err != nil {
		return Object{}, err
	}
	return showObject(ctx, bs, c)
}

// Export implements Backend.
func (o *Offline) Export(ctx context.Context, c string, head HeadMode, w io.Writer) error {
	bs, err := o.openBlocks()
	if err != nil {
		return err
	}
	return exportFile(ctx, bs, o.repo, c, head, w)
}
