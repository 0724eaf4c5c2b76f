package consensus

import (
	"fmt"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Ready is the work a Machine asks of its node. The node handles it in
// this order: persist Blocks, then publish Messages, then start Fetch,
// Check and Fuse work (answering each with a Step), deliver Events, and
// finally call Advance.
type Ready struct {
	Persist  []Block   // dag-cbor blocks to store (and serve to others) before publishing
	Messages [][]byte  // announcement payloads to publish on wire.Topic(swarm)
	Fetch    []cid.Cid // dag-cbor blocks wanted: answer with Step(Block{...})
	Check    []Check   // deltas to fetch and check: answer with Step(Checked{...})
	Fuse     []FuseJob // fusions to run: answer with Step(Fused{...})
	Events   []Event   // what happened, for logs, metrics and the trainer
}

// Empty reports whether there is nothing to do.
func (r Ready) Empty() bool {
	return len(r.Persist)+len(r.Messages)+len(r.Fetch)+len(r.Check)+len(r.Fuse)+len(r.Events) == 0
}

// Block is an encoded dag-cbor block and its CID.
type Block struct {
	CID  cid.Cid
	Data []byte
}

// Check asks the node to fetch a delta file and check it: UnixFS file
// size at most MaxBytes, a canonical safetensors file, finite values, and
// (when NormBound > 0) L2 norm of its body tensors at most NormBound.
type Check struct {
	Contribution cid.Cid
	Peer         peer.ID
	Delta        cid.Cid
	Base         cid.Cid // the base the delta was trained on
	Round        uint64  // the round the contribution is for
	MaxBytes     int64
	NormBound    float64
}

// FuseJob asks the node to fuse Inputs onto Base with Rule and report the
// CID of the canonical fused file. Inputs are sorted by contribution CID.
type FuseJob struct {
	Key    string // echo in Fused.Key
	Round  uint64
	Base   cid.Cid
	Inputs []Input
	Rule   string
}

// Input is one contribution of a fusion.
type Input struct {
	Contribution cid.Cid
	Peer         peer.ID
	Delta        cid.Cid
	Examples     uint64
	Task         string
}

// Event reports something the node may log, count or act on.
type Event interface{ String() string }

// HeadChanged: the fork choice picked a new head. Base is the file to train on next.
type HeadChanged struct {
	Record        cid.Cid // the swarm ID while the head is the genesis
	Round         uint64
	Base          cid.Cid
	Weight        int
	Contributions int
}

// Finalized: Record is now Finality rounds deep and will never be reverted.
type Finalized struct {
	Record cid.Cid
	Round  uint64
}

// Equivocation: Peer signed two different contributions on Base; both are
// void and the pair is evidence against the peer.
type Equivocation struct {
	Peer          peer.ID
	Base          cid.Cid
	First, Second cid.Cid
}

// Rejected: a block or a check failed, or a contribution was dropped
// without counting; From is the gossip sender if known (the signing peer
// for contributions judged later). Cause classifies it for counting.
type Rejected struct {
	CID    cid.Cid
	From   peer.ID
	Cause  Cause
	Reason string
}

// Cause is the class of a Rejected event.
type Cause string

// Causes of Rejected events.
const (
	CauseInvalid     Cause = "invalid"      // malformed, another swarm, bad signature, not allowed
	CauseDelta       Cause = "delta"        // the delta failed the node's check
	CauseFusion      Cause = "fusion"       // a fusion failed naming the contribution's delta
	CauseRecord      Cause = "record"       // a record failed verification
	CauseConflict    Cause = "conflict"     // a record at or below the final round, or off the final record
	CauseReplay      Cause = "replay"       // a contribution of a final round arrived again on gossip
	CauseUnknownBase Cause = "unknown-base" // its base never became valid before its round was final
	CauseWrongRound  Cause = "wrong-round"  // its round is not the one after its base's
)

// Built: this peer built and published a record.
type Built struct {
	Record        cid.Cid
	Round         uint64
	Contributions int
}

// Proposed: this peer signed and published a contribution.
type Proposed struct {
	Contribution cid.Cid
	Round        uint64
	Base         cid.Cid
}

func (e HeadChanged) String() string {
	return fmt.Sprintf("head round=%d record=%s base=%s weight=%d contributions=%d", e.Round, short(e.Record), short(e.Base), e.Weight, e.Contributions)
}
func (e Finalized) String() string {
	return fmt.Sprintf("final round=%d record=%s", e.Round, short(e.Record))
}
func (e Equivocation) String() string {
	return fmt.Sprintf("equivocation peer=%s base=%s first=%s second=%s", shortPeer(e.Peer), short(e.Base), short(e.First), short(e.Second))
}
func (e Rejected) String() string {
	return fmt.Sprintf("rejected cid=%s from=%s reason=%q", short(e.CID), shortPeer(e.From), e.Reason)
}
func (e Built) String() string {
	return fmt.Sprintf("built round=%d record=%s contributions=%d", e.Round, short(e.Record), e.Contributions)
}
func (e Proposed) String() string {
	return fmt.Sprintf("proposed round=%d contribution=%s base=%s", e.Round, short(e.Contribution), short(e.Base))
}

// short abbreviates a CID to its last 6 characters for readable traces.
func short(c cid.Cid) string {
	if !c.Defined() {
		return "-"
	}
	s := c.String()
	return s[len(s)-6:]
}

func shortPeer(p peer.ID) string {
	if p == "" {
		return "-"
	}
	s := p.String()
	return s[len(s)-6:]
}

// announce encodes the announcement of a block; the inputs are our own
// valid blocks, so failure is a broken invariant.
func announce(swarm cid.Cid, kind wire.Kind, block []byte) []byte {
	a := wire.Announce(swarm, kind, block)
	b, err := a.Encode()
	if err != nil {
		panic(fmt.Sprintf("consensus: announcement of own block: %v", err))
	}
	return b
}
