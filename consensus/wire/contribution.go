package wire

import (
	"fmt"
	"math"
	"sort"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Contribution is one peer's finetuned delta for one round, signed by that
// peer. A peer signs at most one contribution per base; two different ones
// for the same base are equivocation.
type Contribution struct {
	Swarm    cid.Cid            // genesis CID
	Round    uint64             // round the delta was trained for (1 = first)
	Base     cid.Cid            // UnixFS root of the base file the delta was trained on
	Delta    cid.Cid            // UnixFS root of the delta safetensors file
	Peer     peer.ID            // signer; its public key is inlined in the ID
	Task     string             // dataset or task name (informational)
	Examples uint64             // training examples used (the "weighted" rule's weight)
	Metrics  map[string]float64 // local evaluation results (informational)
	Sig      []byte             // signature over SigningBytes
}

// SignPrefix is prepended to the signed bytes of a contribution so the
// signature cannot be replayed as any other message of the same key.
const SignPrefix = "coldnode/contribution/v1\x00"

func (c *Contribution) fieldsMap() (map[string]item, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	metrics := make(map[string]item, len(c.Metrics))
	for k, v := range c.Metrics {
		metrics[k] = floatItem(v)
	}
	return map[string]item{
		"v": uintItem(Version), "swarm": cidItem(c.Swarm), "round": uintItem(c.Round),
		"base": cidItem(c.Base), "delta": cidItem(c.Delta), "peer": textItem(c.Peer.String()),
		"task": textItem(c.Task), "examples": uintItem(c.Examples), "metrics": mapItem(metrics),
	}, nil
}

func (c *Contribution) check() error {
	switch {
	case !c.Swarm.Defined() || !c.Base.Defined() || !c.Delta.Defined():
		return fmt.Errorf("%w: swarm, base and delta CIDs are required", ErrInvalid)
	case c.Swarm.Version() != 1 || c.Base.Version() != 1 || c.Delta.Version() != 1:
		return fmt.Errorf("%w: swarm, base and delta must be CIDv1", ErrInvalid)
	case c.Round < 1:
		return fmt.Errorf("%w: contribution round %d, want >= 1", ErrInvalid, c.Round)
	case len(c.Task) > MaxText:
		return fmt.Errorf("%w: task name is %d bytes, limit %d", ErrTooLarge, len(c.Task), MaxText)
	case len(c.Metrics) > MaxMetrics:
		return fmt.Errorf("%w: %d metrics, limit %d", ErrTooLarge, len(c.Metrics), MaxMetrics)
	case len(c.Sig) > MaxSig:
		return fmt.Errorf("%w: signature is %d bytes, limit %d", ErrTooLarge, len(c.Sig), MaxSig)
	}
	if _, err := parsePeer(c.Peer.String()); err != nil {
		return err
	}
	return checkMetrics(c.Metrics)
}

func checkMetrics(m map[string]float64) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		if len(k) == 0 || len(k) > MaxText {
			return fmt.Errorf("%w: metric name %q, want 1..%d bytes", ErrInvalid, k, MaxText)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: metric %q is %v, want a finite number", ErrInvalid, k, v)
		}
	}
	return nil
}

// SigningBytes returns SignPrefix followed by the canonical encoding of c
// without its "sig" field: exactly the bytes the signature covers.
func (c *Contribution) SigningBytes() ([]byte, error) {
	m, err := c.fieldsMap()
	if err != nil {
		return nil, fmt.Errorf("contribution signing bytes: %w", err)
	}
	return appendItem([]byte(SignPrefix), mapItem(m)), nil
}

// Encode returns the canonical encoding of the signed contribution.
func (c *Contribution) Encode() ([]byte, error) {
	m, err := c.fieldsMap()
	if err != nil {
		return nil, fmt.Errorf("encode contribution: %w", err)
	}
	if len(c.Sig) == 0 {
		return nil, fmt.Errorf("encode contribution: %w: not signed", ErrInvalid)
	}
	m["sig"] = bytesItem(c.Sig)
	return appendItem(nil, mapItem(m)), nil
}

// DecodeContribution parses a contribution block. It checks the encoding
// and field ranges but not the signature: call Verify for that.
func DecodeContribution(data []byte) (*Contribution, error) {
	it, err := decodeCanonical(data, MaxBlock)
	if err != nil {
		return nil, fmt.Errorf("decode contribution: %w", err)
	}
	f := newFields("contribution", it)
	f.version()
	c := &Contribution{
		Swarm: f.cid("swarm"), Round: f.uint("round", math.MaxInt64), Base: f.cid("base"),
		Delta: f.cid("delta"), Peer: f.peer("peer"), Task: f.text("task", MaxText),
		Examples: f.uint("examples", math.MaxInt64), Sig: f.bytes("sig", MaxSig),
	}
	metrics := f.sub("metrics")
	if err := f.done(); err != nil {
		return nil, fmt.Errorf("decode contribution: %w", err)
	}
	if c.Metrics, err = decodeMetrics(metrics); err != nil {
		return nil, fmt.Errorf("decode contribution: %w", err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("decode contribution: %w", err)
	}
	if len(c.Sig) == 0 {
		return nil, fmt.Errorf("decode contribution: %w: empty signature", ErrSignature)
	}
	return c, nil
}

func decodeMetrics(it item) (map[string]float64, error) {
	if len(it.keys) > MaxMetrics {
		return nil, fmt.Errorf("%w: %d metrics, limit %d", ErrTooLarge, len(it.keys), MaxMetrics)
	}
	m := make(map[string]float64, len(it.keys))
	for i, k := range it.keys {
		if it.vals[i].kind != kFloat {
			return nil, fmt.Errorf("%w: metric %q is a %s, want a float64", ErrMalformed, k, it.vals[i].kind)
		}
		m[k] = it.vals[i].f
	}
	return m, nil
}
