package wire

import (
	"fmt"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// CIDOf returns the CIDv1 (dag-cbor codec 0x71, sha2-256) of an encoded block.
func CIDOf(block []byte) cid.Cid {
	h, err := multihash.Sum(block, multihash.SHA2_256, -1)
	if err != nil {
		panic(fmt.Sprintf("wire: sha2-256 multihash: %v", err)) // cannot fail for a registered hash
	}
	return cid.NewCidV1(cid.DagCBOR, h)
}

// CheckCID reports whether block is the content of c under this package's
// CID rules, so a fetched block can be trusted to be the one asked for.
func CheckCID(c cid.Cid, block []byte) error {
	if got := CIDOf(block); !got.Equals(c) {
		return fmt.Errorf("%w: block hashes to %s, want %s", ErrInvalid, got, c)
	}
	return nil
}

// CompareCID orders CIDs by their binary form, the order of record
// contribution lists and of every tie-break in the protocol.
func CompareCID(a, b cid.Cid) int { return strings.Compare(a.KeyString(), b.KeyString()) }

// Topic is the one gossip topic of a swarm.
func Topic(swarm cid.Cid) string { return "/coldnode/" + swarm.String() + "/rounds/v1" }
