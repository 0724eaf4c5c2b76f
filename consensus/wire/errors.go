package wire

import "errors"

// Version is the only format version this package writes and reads.
const Version = 1

// Errors wrapped by every decoder and check; match them with errors.Is.
var (
	ErrMalformed    = errors.New("wire: malformed")
	ErrNonCanonical = errors.New("wire: non-canonical encoding")
	ErrTooLarge     = errors.New("wire: too large")
	ErrVersion      = errors.New("wire: unsupported version")
	ErrSignature    = errors.New("wire: bad signature")
	ErrInvalid      = errors.New("wire: invalid value")
)

// Limits of the encodings.
const (
	MaxBlock         = 1 << 20  // any genesis, contribution or record block
	MaxAnnouncement  = 60 << 10 // gossip payload, under the 64 KiB envelope cap
	MaxInlineBlock   = 48 << 10 // larger blocks are announced by CID only
	MaxContributions = 20000    // CIDs in one record
	MaxText          = 256      // names, task names, rule strings, metric keys
	MaxModel         = 64 << 10 // the genesis model configuration
	MaxMetrics       = 32       // entries in a contribution's metrics map
	MaxAllow         = 10000    // peers in a genesis allowlist
	MaxSig           = 256
	maxPeerText      = 128
)
