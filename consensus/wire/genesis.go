package wire

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Genesis defines a swarm. Its CID is the swarm ID.
type Genesis struct {
	Name    string  // human label, makes otherwise equal swarms distinct
	Model   string  // model configuration, opaque to the protocol (JSON by convention)
	Weights cid.Cid // UnixFS root of the initial safetensors file (round 0 base)
	Params  Params
}

// Params are the protocol parameters every peer of a swarm must share.
type Params struct {
	Quorum    int           // contributions that let a round close after Window
	Window    time.Duration // collection window after the quorum is first seen
	Deadline  time.Duration // after this much time from round open any non-empty set closes
	Rule      string        // fusion rule name, e.g. "mean" or "weighted"
	Finality  int           // rounds built on a record before it is final
	Allow     []peer.ID     // if non-empty, only these peers may contribute
	MaxDelta  int64         // largest delta file in bytes
	NormBound float64       // largest L2 norm of a delta's body (0: unbounded)
}

// DefaultParams returns the parameters docs/protocol.md lists as defaults.
func DefaultParams() Params {
	return Params{
		Quorum: 3, Window: 30 * time.Second, Deadline: 10 * time.Minute, Rule: "mean",
		Finality: 3, MaxDelta: 1 << 30, NormBound: 0,
	}
}

// Validate reports the first parameter that is out of range.
func (p Params) Validate() error {
	switch {
	case p.Quorum < 1 || p.Quorum > MaxContributions:
		return fmt.Errorf("%w: quorum %d, want 1..%d", ErrInvalid, p.Quorum, MaxContributions)
	case p.Window < 0 || p.Window%time.Millisecond != 0:
		return fmt.Errorf("%w: window %v, want whole non-negative milliseconds", ErrInvalid, p.Window)
	case p.Deadline <= 0 || p.Deadline%time.Millisecond != 0:
		return fmt.Errorf("%w: deadline %v, want whole positive milliseconds", ErrInvalid, p.Deadline)
	case p.Rule == "" || len(p.Rule) > MaxText:
		return fmt.Errorf("%w: fusion rule %q, want 1..%d bytes", ErrInvalid, p.Rule, MaxText)
	case p.Finality < 1 || p.Finality > 1<<16:
		return fmt.Errorf("%w: finality depth %d, want 1..65536", ErrInvalid, p.Finality)
	case p.MaxDelta < 1:
		return fmt.Errorf("%w: max delta bytes %d, want at least 1", ErrInvalid, p.MaxDelta)
	case p.NormBound < 0 || math.IsNaN(p.NormBound) || math.IsInf(p.NormBound, 0):
		return fmt.Errorf("%w: norm bound %v, want a finite number >= 0", ErrInvalid, p.NormBound)
	case len(p.Allow) > MaxAllow:
		return fmt.Errorf("%w: allowlist has %d peers, limit %d", ErrTooLarge, len(p.Allow), MaxAllow)
	}
	if _, err := fusion.ParseRule(p.Rule); err != nil {
		return fmt.Errorf("%w: fusion %v", ErrInvalid, err) // every fusion of the swarm would fail
	}
	return checkAllow(p.Allow)
}

func checkAllow(allow []peer.ID) error {
	for i, id := range allow {
		if _, err := parsePeer(id.String()); err != nil {
			return fmt.Errorf("allowlist entry %d: %w", i, err)
		}
		if i > 0 && allow[i-1].String() >= id.String() {
			return fmt.Errorf("%w: allowlist must be sorted by peer ID text without duplicates (entry %d)", ErrInvalid, i)
		}
	}
	return nil
}

// Allowed reports whether p may contribute under these parameters.
func (p Params) Allowed(id peer.ID) bool {
	if len(p.Allow) == 0 {
		return true
	}
	_, ok := slices.BinarySearchFunc(p.Allow, id, func(a, b peer.ID) int {
		return compareText(a.String(), b.String())
	})
	return ok
}

func compareText(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Encode returns the canonical encoding of g after validating it.
func (g *Genesis) Encode() ([]byte, error) {
	if err := g.validate(); err != nil {
		return nil, fmt.Errorf("encode genesis: %w", err)
	}
	return appendItem(nil, mapItem(map[string]item{
		"v": uintItem(Version), "name": textItem(g.Name), "model": textItem(g.Model),
		"weights": cidItem(g.Weights), "params": g.Params.item(),
	})), nil
}

func (g *Genesis) validate() error {
	switch {
	case len(g.Name) > MaxText:
		return fmt.Errorf("%w: name is %d bytes, limit %d", ErrTooLarge, len(g.Name), MaxText)
	case len(g.Model) > MaxModel:
		return fmt.Errorf("%w: model config is %d bytes, limit %d", ErrTooLarge, len(g.Model), MaxModel)
	case !g.Weights.Defined() || g.Weights.Version() != 1:
		return fmt.Errorf("%w: initial weights need a CIDv1", ErrInvalid)
	}
	return g.Params.Validate()
}

func (p Params) item() item {
	allow := make([]item, len(p.Allow))
	for i, id := range p.Allow {
		allow[i] = textItem(id.String())
	}
	return mapItem(map[string]item{
		"quorum": uintItem(uint64(p.Quorum)), "window": uintItem(uint64(p.Window.Milliseconds())),
		"deadline": uintItem(uint64(p.Deadline.Milliseconds())), "rule": textItem(p.Rule),
		"finality": uintItem(uint64(p.Finality)), "allow": arrayItem(allow),
		"maxDelta": uintItem(uint64(p.MaxDelta)), "normBound": floatItem(p.NormBound),
	})
}

// DecodeGenesis parses and validates a genesis block.
func DecodeGenesis(data []byte) (*Genesis, error) {
	it, err := decodeCanonical(data, MaxBlock)
	if err != nil {
		return nil, fmt.Errorf("decode genesis: %w", err)
	}
	f := newFields("genesis", it)
	f.version()
	g := &Genesis{Name: f.text("name", MaxText), Model: f.text("model", MaxModel), Weights: f.cid("weights")}
	params := f.sub("params")
	if err := f.done(); err != nil {
		return nil, fmt.Errorf("decode genesis: %w", err)
	}
	if g.Params, err = decodeParams(params); err != nil {
		return nil, fmt.Errorf("decode genesis: %w", err)
	}
	if err := g.validate(); err != nil {
		return nil, fmt.Errorf("decode genesis: %w", err)
	}
	return g, nil
}

func decodeParams(it item) (Params, error) {
	f := newFields("genesis params", it)
	ms := func(k string) time.Duration { return time.Duration(f.uint(k, 1<<40)) * time.Millisecond }
	p := Params{
		Quorum: int(f.uint("quorum", MaxContributions)), Window: ms("window"), Deadline: ms("deadline"),
		Rule: f.text("rule", MaxText), Finality: int(f.uint("finality", 1<<16)),
		MaxDelta: int64(f.uint("maxDelta", 1<<62)), NormBound: f.float("normBound"),
	}
	for _, a := range f.list("allow", MaxAllow) {
		if a.kind != kText {
			return Params{}, fmt.Errorf("%w: allowlist entry is a %s, want a text string", ErrMalformed, a.kind)
		}
		id, err := parsePeer(string(a.b))
		if err != nil {
			return Params{}, fmt.Errorf("allowlist: %w", err)
		}
		p.Allow = append(p.Allow, id)
	}
	return p, f.done()
}

func sortedPeers(ids ...peer.ID) []peer.ID {
	slices.SortFunc(ids, func(a, b peer.ID) int { return compareText(a.String(), b.String()) })
	return ids
}
