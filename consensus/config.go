package consensus

import (
	"errors"
	"fmt"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/ipfs/go-cid"
)

// Config configures one Machine. Genesis is required; everything else has
// a default (DefaultConfig).
type Config struct {
	// Genesis is the encoded genesis block; its CID is the swarm ID.
	Genesis []byte
	// Signer signs the local peer's contributions. Nil makes an observer
	// that verifies and follows the chain but cannot Propose.
	Signer wire.Signer
	// Seed makes this peer's spot-check sample differ from other peers'
	// while staying reproducible.
	Seed uint64
	// SpotCheck 0 verifies every record fully (delta checks and fusion
	// recomputed). With k > 0 a record at least Finality rounds below the
	// best linked record is fully verified with probability 1/k and
	// otherwise accepted after its contributions' signatures check out.
	SpotCheck int
	// BuildSpread is the step of the ranked build backoff: once the close
	// rule holds, the first-ranked peer of the round builds at once and
	// the next ranks each one BuildSpread later (see backoff), so usually
	// one peer builds and the others verify and adopt its record instead
	// of racing. Set it above the time a record takes to reach the peers
	// and be verified (one fusion); 0 makes every peer build at once.
	BuildSpread time.Duration
	// AnnounceEvery is the period of head and open-contribution
	// re-announcements, which is how late joiners learn the head.
	AnnounceEvery time.Duration
	// RetryEvery is how often missing blocks and unavailable deltas are
	// requested again.
	RetryEvery time.Duration
	// JoinWait is how long Synced waits for a head announcement when the
	// Machine knows no record; 0 for the peers that start a new swarm.
	JoinWait time.Duration
	// Rebase re-signs the local peer's delta on the new head base when the
	// base it was trained on loses the fork choice (off by default: a
	// delta is only meaningful on its own base).
	Rebase bool
	// VerifySig checks the signature of contribution block id; nil uses
	// (*wire.Contribution).Verify. The simulator passes a form memoised
	// by CID (the CID binds the content and the signature).
	VerifySig func(id cid.Cid, c *wire.Contribution) error
}

// DefaultConfig returns the defaults documented in docs/protocol.md.
func DefaultConfig(genesis []byte, signer wire.Signer) Config {
	return Config{
		Genesis: genesis, Signer: signer, BuildSpread: 2 * time.Second,
		AnnounceEvery: 15 * time.Second, RetryEvery: 5 * time.Second, JoinWait: 35 * time.Second,
	}
}

// Validate reports the first unusable setting.
func (c *Config) Validate() error {
	switch {
	case len(c.Genesis) == 0:
		return errors.New("consensus config: genesis block is required")
	case c.SpotCheck < 0:
		return fmt.Errorf("consensus config: spot-check rate %d, want >= 0", c.SpotCheck)
	case c.BuildSpread < 0 || c.JoinWait < 0:
		return fmt.Errorf("consensus config: build spread %v and join wait %v, want >= 0", c.BuildSpread, c.JoinWait)
	case c.AnnounceEvery <= 0 || c.RetryEvery <= 0:
		return fmt.Errorf("consensus config: announce (%v) and retry (%v) periods must be positive", c.AnnounceEvery, c.RetryEvery)
	}
	return nil
}
