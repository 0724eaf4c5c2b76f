package consensus

import (
	"fmt"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/ipfs/go-cid"
)

// Validate is the cheap, stateless check a gossip validator can run before
// a payload reaches the Machine: a well-formed announcement for this swarm
// whose inline block (if any) matches its CID and kind. It returns an error
// wrapping ErrRejected for payloads that should be rejected.
func Validate(swarm cid.Cid, payload []byte) error {
	a, err := wire.DecodeAnnouncement(payload)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	if !a.Swarm.Equals(swarm) {
		return fmt.Errorf("%w: announcement for swarm %s, this is %s", ErrRejected, a.Swarm, swarm)
	}
	if a.Block == nil {
		return nil
	}
	kind, err := wire.KindOf(a.Block)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	if kind != a.Kind {
		return fmt.Errorf("%w: announced as %s but the block is a %s", ErrRejected, a.Kind, kind)
	}
	return nil
}
