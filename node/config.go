package node

import (
	"fmt"
	"net"
	"time"

	"github.com/coldnode/coldnode/train/deltaenc"
)

// RepoConfig is what a repository remembers between runs (config.json).
type RepoConfig struct {
	// Swarm is the swarm ID: the CID of the genesis record.
	Swarm string `json:"swarm"`
	// Listen are the libp2p listen multiaddrs.
	Listen []string `json:"listen,omitempty"`
	// Bootstrap are full multiaddrs (with /p2p/ID) to join through.
	Bootstrap []string `json:"bootstrap,omitempty"`
	// API is the loopback address of the HTTP API ("127.0.0.1:0" picks a port).
	API string `json:"api,omitempty"`
	// NoMDNS turns local-network discovery off.
	NoMDNS bool `json:"no_mdns,omitempty"`
}

// Config is one run of a node: the repository's settings plus the flags of
// `coldnode start`.
type Config struct {
	RepoConfig
	// Dataset is the path of the local private dataset (see data.Load).
	Dataset string
	// Task names the dataset's task; default: the dataset's base name.
	Task string
	// Limit caps the training examples used per round (0: all).
	Limit int
	// Rounds stops the node after it has seen this many rounds close (0: run until cancelled).
	Rounds int
	// Epochs of local finetuning per round (0: the trainer's default).
	Epochs int
	// Seed seeds local training; the round number is mixed in.
	Seed int64
	// FetchTimeout bounds fetching one record or file from peers.
	FetchTimeout time.Duration
	// TickInterval is how often the state machine is given the time.
	TickInterval time.Duration
	// GenesisTimeout bounds fetching the genesis from peers when joining.
	GenesisTimeout time.Duration
	// AnnounceEvery is how often the head and open contributions are
	// re-announced (how late joiners learn the head).
	AnnounceEvery time.Duration
	// RetryEvery is how often missing blocks and deltas are asked for again.
	RetryEvery time.Duration
	// LowPeers is the connection count under which the bootstrap and
	// remembered peers are dialled again (0: p2p's default, 4), checked every
	// ReconnectEvery (0: p2p's default, 30 s).
	LowPeers       int
	ReconnectEvery time.Duration
	// GCEvery collects garbage every this many rounds of the head (0:
	// never): the keep policy's pins are set and every other block removed.
	GCEvery int
	// BuildSpread is the step of the ranked build backoff: once a round may
	// close, the round's first-ranked peer builds at once and each later
	// rank one step later, so usually one peer builds (see
	// consensus.Config).
	BuildSpread time.Duration
	// DeltaEncoding is how the node writes its deltas (deltaenc.Parse:
	// dense, fp16, bf16, int8, rows+..., +zstd); "" means
	// deltaenc.Default. Any node fuses any mix of encodings.
	DeltaEncoding string
	// CheckAfterTraining holds the checks of other deltas of the round
	// this node is training until its training ends (they are fetched
	// meanwhile). Under a mean rule the round's running sum (twice the
	// body) then never lives beside the trainer's memory, lowering the
	// node's peak; the checks no longer overlap the training, so the
	// round closes later when contributions arrive together (see
	// docs/benchmarks.md, item 6). Default: check as deltas arrive.
	CheckAfterTraining bool
	// MemoryBudget is the Go memory, in bytes, the node should stay
	// within (0: none); `coldnode start` sets it to the soft memory limit
	// when one is fixed, else to 90% of the machine's or the cgroup's
	// memory. A check of the round this node is training waits for the
	// training to end, as with CheckAfterTraining, when the round's
	// running sum (8 bytes a body value) beside the live heap would not
	// fit in it: a node short of memory closes later instead of being
	// killed.
	MemoryBudget int64
	// AutoMoments picks the AdamW moment precision of each round's
	// training from MemoryBudget: fp32, else bf16, else int8, the first
	// whose estimated training memory (train.PeakBytes) fits in the
	// budget beside the rest of the live heap. Without a budget, or when
	// false, the training options' own precision is used.
	AutoMoments bool
}

// DefaultConfig returns a node configuration with default listen and API addresses.
func DefaultConfig() Config {
	return Config{
		RepoConfig: RepoConfig{
			Listen: []string{"/ip4/0.0.0.0/tcp/4011", "/ip4/0.0.0.0/udp/4011/quic-v1"},
			API:    "127.0.0.1:5011",
		},
		Seed:           1,
		FetchTimeout:   2 * time.Minute,
		TickInterval:   250 * time.Millisecond,
		GenesisTimeout: 30 * time.Second,
		AnnounceEvery:  5 * time.Second,
		RetryEvery:     5 * time.Second,
		BuildSpread:    2 * time.Second,
		GCEvery:        10,
		DeltaEncoding:  deltaenc.Default.String(),
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Dataset == "" {
		return fmt.Errorf("node: no dataset: pass --dataset PATH (a task directory, JSONL, CSV or TSV file)")
	}
	if c.Rounds < 0 || c.Limit < 0 || c.Epochs < 0 || c.GCEvery < 0 || c.LowPeers < 0 {
		return fmt.Errorf("node: --rounds, --limit, --epochs, --gc-every and --low-peers must not be negative")
	}
	if c.API != "" {
		host, _, err := net.SplitHostPort(c.API)
		if err != nil {
			return fmt.Errorf("node: API address %q: %w", c.API, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("node: API address %q is not on loopback; the API is local only", c.API)
		}
	}
	if _, err := c.deltaEncoding(); err != nil {
		return err
	}
	if c.FetchTimeout <= 0 || c.TickInterval <= 0 || c.GenesisTimeout <= 0 || c.AnnounceEvery <= 0 || c.RetryEvery <= 0 || c.BuildSpread < 0 {
		return fmt.Errorf("node: timeouts and periods must be positive")
	}
	return nil
}

// deltaEncoding is the parsed DeltaEncoding ("" is deltaenc.Default).
func (c Config) deltaEncoding() (deltaenc.Encoding, error) {
	if c.DeltaEncoding == "" {
		return deltaenc.Default, nil
	}
	e, err := deltaenc.Parse(c.DeltaEncoding)
	if err != nil {
		return e, fmt.Errorf("node: --delta-encoding: %w", err)
	}
	return e, nil
}
