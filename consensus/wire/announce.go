package wire

import (
	"fmt"

	"github.com/ipfs/go-cid"
)

// Kind names what an announced block is.
type Kind string

// Announcement kinds.
const (
	KindContribution Kind = "contribution"
	KindRecord       Kind = "record"
)

// Announcement is the payload of every gossip message on Topic(swarm). It
// names a block by CID and carries the block itself when it fits in
// MaxInlineBlock bytes; otherwise Block is empty and receivers fetch it.
type Announcement struct {
	Swarm cid.Cid
	Kind  Kind
	CID   cid.Cid
	Block []byte
}

func (a *Announcement) check() error {
	switch {
	case a.Kind != KindContribution && a.Kind != KindRecord:
		return fmt.Errorf("%w: announcement kind %q, want %q or %q", ErrInvalid, a.Kind, KindContribution, KindRecord)
	case !a.Swarm.Defined() || !a.CID.Defined() || a.Swarm.Version() != 1 || a.CID.Version() != 1:
		return fmt.Errorf("%w: announcement swarm and cid must be CIDv1", ErrInvalid)
	case a.CID.Type() != cid.DagCBOR:
		return fmt.Errorf("%w: announced CID %s is not dag-cbor", ErrInvalid, a.CID)
	case len(a.Block) > MaxInlineBlock:
		return fmt.Errorf("%w: inline block is %d bytes, limit %d", ErrTooLarge, len(a.Block), MaxInlineBlock)
	case len(a.Block) > 0:
		return CheckCID(a.CID, a.Block)
	}
	return nil
}

// Encode returns the canonical encoding of a.
func (a *Announcement) Encode() ([]byte, error) {
	if err := a.check(); err != nil {
		return nil, fmt.Errorf("encode announcement: %w", err)
	}
	return appendItem(nil, mapItem(map[string]item{
		"v": uintItem(Version), "swarm": cidItem(a.Swarm), "kind": textItem(string(a.Kind)),
		"cid": cidItem(a.CID), "block": bytesItem(a.Block),
	})), nil
}

// DecodeAnnouncement parses a gossip payload and checks that an inline block
// hashes to the announced CID.
func DecodeAnnouncement(data []byte) (*Announcement, error) {
	it, err := decodeCanonical(data, MaxAnnouncement)
	if err != nil {
		return nil, fmt.Errorf("decode announcement: %w", err)
	}
	f := newFields("announcement", it)
	f.version()
	a := &Announcement{
		Swarm: f.cid("swarm"), Kind: Kind(f.text("kind", MaxText)), CID: f.cid("cid"),
		Block: f.bytes("block", MaxInlineBlock),
	}
	if err := f.done(); err != nil {
		return nil, fmt.Errorf("decode announcement: %w", err)
	}
	if len(a.Block) == 0 {
		a.Block = nil
	}
	if err := a.check(); err != nil {
		return nil, fmt.Errorf("decode announcement: %w", err)
	}
	return a, nil
}

// Announce builds the announcement of an encoded block, inlining it when it
// is small enough.
func Announce(swarm cid.Cid, kind Kind, block []byte) Announcement {
	a := Announcement{Swarm: swarm, Kind: kind, CID: CIDOf(block)}
	if len(block) <= MaxInlineBlock {
		a.Block = block
	}
	return a
}

// KindOf tells a contribution block from a record block (by the "sig" or
// "fused" field) without fully decoding it.
func KindOf(block []byte) (Kind, error) {
	it, err := decodeCanonical(block, MaxBlock)
	if err != nil {
		return "", fmt.Errorf("kind of block: %w", err)
	}
	if it.kind == kMap {
		for _, k := range it.keys {
			switch k {
			case "sig":
				return KindContribution, nil
			case "fused":
				return KindRecord, nil
			}
		}
	}
	return "", fmt.Errorf("kind of block: %w: neither a contribution nor a record", ErrMalformed)
}
