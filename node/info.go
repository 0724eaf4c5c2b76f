package node

import (
	"context"
	"errors"
	"io"
)

// IDInfo describes a node: its peer ID, full multiaddrs and swarm.
type IDInfo struct {
	Peer    string   `json:"peer"`
	Addrs   []string `json:"addrs,omitempty"`
	Swarm   string   `json:"swarm,omitempty"`
	Online  bool     `json:"online"`
	Version string   `json:"version,omitempty"`
}

// PeerInfo is one connected peer.
type PeerInfo struct {
	Peer  string   `json:"peer"`
	Addrs []string `json:"addrs,omitempty"`
}

// ContributionInfo is one contribution counted in a round.
type ContributionInfo struct {
	CID      string             `json:"cid"`
	Peer     string             `json:"peer"`
	Task     string             `json:"task"`
	Delta    string             `json:"delta"`
	Examples int64              `json:"examples"`
	Metrics  map[string]float64 `json:"metrics,omitempty"`
}

// RoundInfo is one closed round of the node's current chain.
type RoundInfo struct {
	Round         int64              `json:"round"`
	Record        string             `json:"record"`
	Parent        string             `json:"parent,omitempty"`
	Base          string             `json:"base"`
	Fused         string             `json:"fused"`
	Contributions []ContributionInfo `json:"contributions"`
	Final         bool               `json:"final"`
}

// Object is what `show` prints about a CID: its kind and a JSON-able body.
type Object struct {
	CID  string `json:"cid"`
	Kind string `json:"kind"` // genesis, record, contribution, file
	Size int64  `json:"size,omitempty"`
	Body any    `json:"body,omitempty"`
}

// ErrNotFound is wrapped when a round or CID is unknown.
var ErrNotFound = errors.New("not found")

// ErrBadRequest is wrapped when an argument (a CID, a round number) is malformed.
var ErrBadRequest = errors.New("bad request")

// Backend answers the inspection commands. A running node serves it over the
// HTTP API (Client is the remote form); Offline reads a repository directly
// when no node runs.
type Backend interface {
	ID(ctx context.Context) (IDInfo, error)
	Peers(ctx context.Context) ([]PeerInfo, error)
	Rounds(ctx context.Context) ([]RoundInfo, error)
	Round(ctx context.Context, n int64) (RoundInfo, error)
	Show(ctx context.Context, cid string) (Object, error)
	// Export writes the safetensors file of cid to w; with withHead, the
	// node's own task head trained on that base is added when it has one.
	Export(ctx context.Context, cid string, withHead bool, w io.Writer) error
}
