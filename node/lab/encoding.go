package lab

import (
	"fmt"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
)

// deltaEncoding is the parsed Config.DeltaEncoding ("" is dense).
func (c Config) deltaEncoding() (deltaenc.Encoding, error) {
	if c.DeltaEncoding == "" {
		return deltaenc.Dense, nil
	}
	e, err := deltaenc.Parse(c.DeltaEncoding)
	if err != nil {
		return e, fmt.Errorf("lab: --delta-encoding: %w", err)
	}
	return e, nil
}

// encode writes each contribution's delta in the configured encoding, as
// a node would publish it, and names it by the encoded file's CID. Delta
// keeps the float32 delta the contributor computed (norms are of it).
func (r *coldRun) encode(cs []contribution) error {
	e, err := r.cfg.deltaEncoding()
	if err != nil || e == deltaenc.Dense {
		return err
	}
	for i := range cs {
		f, err := checkpoint.Decode(cs[i].Delta)
		if err != nil {
			return fmt.Errorf("lab: delta of %s: %w", cs[i].Task, err)
		}
		if cs[i].Sent, err = deltaenc.Encode(f, e); err != nil {
			return fmt.Errorf("lab: encode delta of %s as %s: %w", cs[i].Task, e, err)
		}
		if cs[i].DeltaCID, err = fileCID(cs[i].Sent); err != nil {
			return err
		}
	}
	return nil
}

// sent is the delta file a contribution published.
func (c contribution) sent() []byte {
	if c.Sent != nil {
		return c.Sent
	}
	return c.Delta
}

func (c contribution) sentBytes() int { return len(c.sent()) }

// openSent opens the published delta file for fusion onto base, plain or
// encoded, as a node does.
func openSent(c contribution, base *checkpoint.Reader) (*checkpoint.Reader, error) {
	return fusion.OpenDelta(c.sent(), base)
}
