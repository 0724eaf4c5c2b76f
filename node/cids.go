package node

import (
	"fmt"
	"sort"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// parseCID parses a CID a user or a file gave, wrapping ErrBadRequest.
func parseCID(s string) (cid.Cid, error) {
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, fmt.Errorf("%q is not a CID: %v: %w", s, err, ErrBadRequest)
	}
	return c, nil
}

func sortPeers(ids []peer.ID) {
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
}
