package consensus

import (
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Message is anything Step accepts: Gossip, Block, Checked, Fused, Propose.
type Message interface{ isMessage() }

// Gossip is a payload received on wire.Topic(swarm) from peer From.
type Gossip struct {
	From    peer.ID
	Payload []byte
}

// Block is also a Message: a dag-cbor block fetched (or read back from
// the local store after a restart). Its bytes are checked against CID.

// Checked answers a Check. Err nil means the delta is valid;
// Unavailable means it could not be fetched yet (retried later); any other
// Err voids the contribution.
type Checked struct {
	Contribution cid.Cid
	Unavailable  bool
	Err          error
}

// Fused answers a FuseJob with the CID of the fused file, or Err.
type Fused struct {
	Key   string
	Fused cid.Cid
	Err   error
}

// Propose asks the Machine to sign and publish the local peer's
// contribution: a delta trained on Base (normally Head().Base) and already
// imported and checked by the node.
type Propose struct {
	Base     cid.Cid
	Delta    cid.Cid
	Task     string
	Examples uint64
	Metrics  map[string]float64
}

func (Gossip) isMessage()  {}
func (Block) isMessage()   {}
func (Checked) isMessage() {}
func (Fused) isMessage()   {}
func (Propose) isMessage() {}
