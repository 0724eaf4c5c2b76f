package node

import (
	"context"
	"errors"
	"fmt"
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

// PeerInfo is one connected peer or, with Remembered, one the node was
// connected to when it last ran (read offline from the known-peers file).
type PeerInfo struct {
	Peer       string   `json:"peer"`
	Addrs      []string `json:"addrs,omitempty"`
	Remembered bool     `json:"remembered,omitempty"`
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
	// Export writes the safetensors file of cid to w, with the node's own
	// task head added as head asks (see HeadMode).
	Export(ctx context.Context, cid string, head HeadMode, w io.Writer) error
}

// HeadMode says which of the node's own task heads Export adds to a body.
type HeadMode int

const (
	// HeadNone exports the file as stored.
	HeadNone HeadMode = iota
	// HeadSame adds the head this node trained on exactly this base, if any.
	HeadSame
	// HeadLatest adds the head trained on this base or, when there is none
	// (the newest fused base, which nobody has trained on yet), the node's
	// most recent head: the usable model of this node right now.
	HeadLatest
)

// query is the API's form of a head mode (?head=...).
func (h HeadMode) query() string {
	switch h {
	case HeadSame:
		return "1"
	case HeadLatest:
		return "latest"
	}
	return ""
}

func headModeOf(q string) (HeadMode, error) {
	switch q {
	case "", "0":
		return HeadNone, nil
	case "1":
		return HeadSame, nil
	case "latest":
		return HeadLatest, nil
	}
	return HeadNone, fmt.Errorf("head=%q: want 0, 1 or latest: %w", q, ErrBadRequest)
}
