package node

import (
	"context"
	"fmt"
	"os"

	"github.com/coldnode/coldnode/p2p"
)

// Connect returns a Backend for the repository at path: the running node's
// API when one runs there, else the repository read directly (which locks it
// for the duration, so no node starts meanwhile). Call the returned function
// when done.
func Connect(ctx context.Context, path string) (Backend, func(), error) {
	c, err := Dial(path)
	if err == nil {
		if _, err := c.ID(ctx); err == nil {
			return c, func() {}, nil
		}
	}
	if Locked(path) {
		return nil, nil, fmt.Errorf("%w: a coldnode process holds %s but its API does not answer (starting, stopping, or run without --api); try again", ErrLocked, path)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("%w at %s: run `coldnode init` first, or pass --repo", ErrNoRepo, path)
	}
	o, err := OpenOffline(path)
	if err != nil {
		return nil, nil, err
	}
	return o, func() { o.Close() }, nil
}

// Offline is a Backend over a repository with no node running.
type Offline struct {
	repo   *Repo
	cfg    RepoConfig
	blocks *p2p.Blocks // opened on first use
}

// OpenOffline locks and opens the repository at path for reading.
func OpenOffline(path string) (*Offline, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	cfg, err := r.LoadConfig()
	if err != nil {
		r.Close()
		return nil, err
	}
	return &Offline{repo: r, cfg: cfg}, nil
}

// Close releases the repository.
func (o *Offline) Close() error {
	if o.blocks != nil {
		o.blocks.Close()
	}
	return o.repo.Close()
}

// Peers implements Backend: an offline repository has no connections, so it
// lists the peers p2p remembered (peers.json) when the node last ran, marked
// Remembered.
func (o *Offline) Peers(context.Context) ([]PeerInfo, error) {
	known, err := p2p.KnownPeers(o.repo.Path)
	if err != nil {
		return nil, err
	}
	out := []PeerInfo{}
	for _, ai := range known {
		pi := PeerInfo{Peer: ai.ID.String(), Remembered: true}
		for _, a := range ai.Addrs {
			pi.Addrs = append(pi.Addrs, a.String())
		}
		out = append(out, pi)
	}
	return out, nil
}

// Rounds implements Backend.
func (o *Offline) Rounds(context.Context) ([]RoundInfo, error) { return o.repo.Index().Rounds() }

// Round implements Backend.
func (o *Offline) Round(_ context.Context, n int64) (RoundInfo, error) {
	return o.repo.Index().Round(n)
}
