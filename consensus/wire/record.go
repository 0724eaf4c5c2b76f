package wire

import (
	"fmt"
	"math"

	"github.com/ipfs/go-cid"
)

// Record closes one round: the contributions fused on a base and the
// result. It is unsigned and a pure function of its contents, so every peer
// that builds the record for the same parent and set writes the same bytes
// and the same CID.
type Record struct {
	Swarm         cid.Cid   // genesis CID
	Round         uint64    // 1 for the first round
	Parent        cid.Cid   // previous record, or the genesis CID for round 1
	Base          cid.Cid   // the parent's Fused (genesis Weights for round 1)
	Contributions []cid.Cid // contribution CIDs, strictly ascending by bytes
	Fused         cid.Cid   // UnixFS root of the fused safetensors file: the next base
}

func (r *Record) check() error {
	switch {
	case r.Round < 1:
		return fmt.Errorf("%w: record round %d, want >= 1", ErrInvalid, r.Round)
	case len(r.Contributions) == 0:
		return fmt.Errorf("%w: record has no contributions", ErrInvalid)
	case len(r.Contributions) > MaxContributions:
		return fmt.Errorf("%w: %d contributions, limit %d", ErrTooLarge, len(r.Contributions), MaxContributions)
	}
	for _, c := range []cid.Cid{r.Swarm, r.Parent, r.Base, r.Fused} {
		if !c.Defined() || c.Version() != 1 {
			return fmt.Errorf("%w: swarm, parent, base and fused must be CIDv1", ErrInvalid)
		}
	}
	for i := 1; i < len(r.Contributions); i++ {
		if CompareCID(r.Contributions[i-1], r.Contributions[i]) >= 0 {
			return fmt.Errorf("%w: contribution %d (%s) is not after %s", ErrNonCanonical, i, r.Contributions[i], r.Contributions[i-1])
		}
	}
	return nil
}

// Encode returns the canonical encoding of r.
func (r *Record) Encode() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	list := make([]item, len(r.Contributions))
	for i, c := range r.Contributions {
		list[i] = cidItem(c)
	}
	return appendItem(nil, mapItem(map[string]item{
		"v": uintItem(Version), "swarm": cidItem(r.Swarm), "round": uintItem(r.Round),
		"parent": cidItem(r.Parent), "base": cidItem(r.Base), "contributions": arrayItem(list),
		"fused": cidItem(r.Fused),
	})), nil
}

// DecodeRecord parses a record block.
func DecodeRecord(data []byte) (*Record, error) {
	it, err := decodeCanonical(data, MaxBlock)
	if err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	f := newFields("record", it)
	f.version()
	r := &Record{
		Swarm: f.cid("swarm"), Round: f.uint("round", math.MaxInt64), Parent: f.cid("parent"),
		Base: f.cid("base"), Fused: f.cid("fused"),
	}
	list := f.list("contributions", MaxContributions)
	if err := f.done(); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	for i, e := range list {
		if e.kind != kCID {
			return nil, fmt.Errorf("decode record: %w: contribution %d is a %s, want a CID", ErrMalformed, i, e.kind)
		}
		c, _ := cid.Cast(e.b) // the decoder already parsed it
		r.Contributions = append(r.Contributions, c)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	return r, nil
}
