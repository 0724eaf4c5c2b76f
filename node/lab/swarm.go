package lab

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/p2p/ufs"
	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
)

// swarm is one seed's simulated swarm: its genesis, the rule it fuses by
// and a deterministic signing key for each seen task's contributor.
type swarm struct {
	genesis wire.Genesis
	id      cid.Cid // the genesis CID: the swarm ID
	rule    fusion.Rule
	signers map[string]*wire.KeySigner
	blocks  map[cid.Cid][]byte // every contribution and record block, by CID
}

// newSwarm names the genesis body and builds the genesis as `coldnode init`
// would, with the lab's rule.
func newSwarm(name, modelJSON, rule string, body []byte, tasks []*Task, seed uint64) (*swarm, error) {
	r, err := fusion.ParseRule(rule)
	if err != nil {
		return nil, fmt.Errorf("lab: rule: %w", err)
	}
	w, err := fileCID(body)
	if err != nil {
		return nil, err
	}
	p := wire.DefaultParams()
	p.Rule = rule
	s := &swarm{rule: r, signers: map[string]*wire.KeySigner{}, blocks: map[cid.Cid][]byte{}}
	s.genesis = wire.Genesis{Name: name, Model: modelJSON, Weights: w, Params: p}
	gb, err := s.genesis.Encode()
	if err != nil {
		return nil, fmt.Errorf("lab: genesis: %w", err)
	}
	s.id = wire.CIDOf(gb)
	for _, t := range seen(tasks) {
		if s.signers[t.Name], err = taskSigner(seed, t.Name); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// taskSigner derives a contributor's Ed25519 key from the seed and task name.
func taskSigner(seed uint64, task string) (*wire.KeySigner, error) {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	h := fnv.New64a()
	h.Write([]byte(task))
	binary.LittleEndian.PutUint64(key[8:], h.Sum64())
	priv, _, err := crypto.GenerateEd25519Key(rand.NewChaCha8(key))
	if err != nil {
		return nil, fmt.Errorf("lab: key of %s: %w", task, err)
	}
	return wire.NewKeySigner(priv)
}

// fileCID is the UnixFS CID a node gives a weights file.
func fileCID(b []byte) (cid.Cid, error) {
	c, err := ufs.CID(bytes.NewReader(b))
	if err != nil {
		return cid.Undef, fmt.Errorf("lab: CID of weights: %w", err)
	}
	return c, nil
}

// contribution is one contributor's finished work in a round.
type contribution struct {
	Task     string
	Examples int // distinct training examples (the weighted rule's weight)
	Trained  int // examples processed, over all epochs
	Delta    []byte
	DeltaCID cid.Cid
	Test     train.Metrics // the contributor's finetuned model on its own test split
	Attack   string        // the attack it mounted ("" for an honest contributor)
	// Sent is Delta as written in Config.DeltaEncoding, whose CID DeltaCID
	// is; nil when the encoding is dense (Sent is Delta).
	Sent []byte
}

// Contribution is a contribution as the lab reports it.
type Contribution struct {
	Task     string  `json:"task"`
	Peer     string  `json:"peer"`
	CID      string  `json:"cid"`   // the signed wire.Contribution
	Delta    string  `json:"delta"` // the delta file's UnixFS CID
	Examples int     `json:"examples"`
	TestAcc  float64 `json:"test_acc"`         // the contributor's own finetuned model on its task
	Attack   string  `json:"attack,omitempty"` // what an attacker sent instead of its honest delta
	Norm     float64 `json:"norm"`             // L2 norm of the delta it sent
	Bytes    int     `json:"bytes,omitempty"`  // size of the delta file it sent
}

// Round is one closed round: the record a swarm would have written.
type Round struct {
	Round         int            `json:"round"`
	Record        string         `json:"record"`
	Base          string         `json:"base"`
	Fused         string         `json:"fused"`
	Contributions []Contribution `json:"contributions"`
	// DeltaNorm is the mean L2 norm of the contributions' body deltas and
	// StepNorm the norm of fused - base: their ratio shows how much the
	// rule's averaging shrinks the contributors' updates (1/sqrt(n) for
	// orthogonal deltas, 1 for equal ones).
	DeltaNorm float64 `json:"delta_norm"`
	StepNorm  float64 `json:"step_norm"`
	Seconds   float64 `json:"seconds"`
}

// close fuses a round's contributions into base with the swarm's rule and
// signs and records them; it returns the fused file and the round's record.
func (s *swarm) close(round int, parent cid.Cid, base []byte, cs []contribution) ([]byte, Round, cid.Cid, error) {
	fused, err := fuseBytes(base, cs, s.rule)
	if err != nil {
		return nil, Round{}, cid.Undef, fmt.Errorf("lab: round %d: %w", round, err)
	}
	bc, err := fileCID(base)
	if err != nil {
		return nil, Round{}, cid.Undef, err
	}
	fc, err := fileCID(fused)
	if err != nil {
		return nil, Round{}, cid.Undef, err
	}
	rec := wire.Record{Swarm: s.id, Round: uint64(round), Parent: parent, Base: bc, Fused: fc}
	out := Round{Round: round, Base: bc.String(), Fused: fc.String()}
	if out.DeltaNorm, out.StepNorm, err = stepNorms(base, fused, cs); err != nil {
		return nil, Round{}, cid.Undef, err
	}
	for _, c := range cs {
		info, cc, err := s.sign(round, bc, c)
		if err != nil {
			return nil, Round{}, cid.Undef, err
		}
		out.Contributions = append(out.Contributions, info)
		rec.Contributions = append(rec.Contributions, cc)
	}
	slices.SortFunc(rec.Contributions, wire.CompareCID)
	rb, err := rec.Encode()
	if err != nil {
		return nil, Round{}, cid.Undef, fmt.Errorf("lab: round %d record: %w", round, err)
	}
	rc := wire.CIDOf(rb)
	s.blocks[rc] = rb
	out.Record = rc.String()
	return fused, out, rc, nil
}

// sign builds and signs the wire.Contribution of c on base.
func (s *swarm) sign(round int, base cid.Cid, c contribution) (Contribution, cid.Cid, error) {
	signer, ok := s.signers[c.Task]
	if !ok {
		return Contribution{}, cid.Undef, fmt.Errorf("lab: no contributor key for task %q", c.Task)
	}
	wc := wire.Contribution{Swarm: s.id, Round: uint64(round), Base: base, Delta: c.DeltaCID, Task: c.Task,
		Examples: uint64(c.Examples), Metrics: map[string]float64{"test_acc": c.Test.Accuracy}}
	if err := wc.Sign(signer); err != nil {
		return Contribution{}, cid.Undef, fmt.Errorf("lab: round %d: %w", round, err)
	}
	b, err := wc.Encode()
	if err != nil {
		return Contribution{}, cid.Undef, fmt.Errorf("lab: round %d contribution of %s: %w", round, c.Task, err)
	}
	cc := wire.CIDOf(b)
	s.blocks[cc] = b
	norm, err := bodyNorm(c.Delta, nil)
	if err != nil {
		return Contribution{}, cid.Undef, fmt.Errorf("lab: norm of %s's delta: %w", c.Task, err)
	}
	return Contribution{Task: c.Task, Peer: signer.ID().String(), CID: cc.String(), Delta: c.DeltaCID.String(),
		Examples: c.Examples, TestAcc: c.Test.Accuracy, Attack: c.Attack, Norm: norm, Bytes: c.sentBytes()}, cc, nil
}

// fuseBytes is the node's fusion step on in-memory files: base plus the
// deltas, identified by their CIDs, combined by fusion.Fuse.
func fuseBytes(base []byte, cs []contribution, rule fusion.Rule) ([]byte, error) {
	br, err := checkpoint.Open(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		return nil, fmt.Errorf("open base: %w", err)
	}
	inputs := make([]fusion.Input, len(cs))
	for i, c := range cs {
		r, err := openSent(c, br)
		if err != nil {
			return nil, fmt.Errorf("open delta of %s: %w", c.Task, err)
		}
		inputs[i] = fusion.Input{ID: c.DeltaCID.String(), Examples: int64(c.Examples), Delta: r}
	}
	var buf bytes.Buffer
	if _, err := fusion.Fuse(&buf, br, inputs, rule); err != nil {
		return nil, fmt.Errorf("fuse: %w", err)
	}
	return buf.Bytes(), nil
}
