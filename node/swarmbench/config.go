package swarmbench

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// SmallBag is a ~70k-parameter bag-of-words model: fast to train and move.
const SmallBag = `{"arch":"bag","token":{"buckets":4096,"bigrams":true},"dim":16,"hidden":16,"layers":1,"classes":0}`

// Bag10M is a bag-of-words model with a body of ~10.0M parameters
// (2^17 buckets x 76 + a 76x64 hidden layer), 39.9 MB of F32. Training
// touches only the embedding rows of the examples' tokens.
const Bag10M = `{"arch":"bag","token":{"buckets":131072,"bigrams":true},"dim":76,"hidden":64,"layers":1,"classes":0}`

// MLP10M is a dense MLP over the 64 features of the digits task with a body
// of 10.02M parameters (64x1816, then three 1816x1816 layers), 40.1 MB of
// F32: every step updates every weight, so every delta is dense.
const MLP10M = `{"arch":"mlp","features":64,"input_scale":0.0625,"dim":1816,"hidden":1816,"layers":4,"classes":0}`

// MLP125M is the same mlp at the size of RoBERTa-base, the paper's model:
// 125.25M parameters, a 501 MB body (issue 8 item 6 at a real size).
const MLP125M = `{"arch":"mlp","features":64,"input_scale":0.0625,"dim":6450,"hidden":6450,"layers":4,"classes":0}`

// Config is one bench run.
type Config struct {
	// Bin is the coldnode executable started for every process.
	Bin string
	// Dir holds the repositories and logs; it must exist.
	Dir string
	// Nodes is the number of node processes (the swarm's quorum).
	Nodes int
	// Rounds to run: once every node holds a head of this round, the bench
	// stops them all (SIGTERM).
	Rounds int
	// Model is a model config in JSON (see train/model.Config).
	Model string
	// Datasets are task paths; node i trains on Datasets[i%len(Datasets)].
	Datasets []string
	// Limits are the training examples per round of each node, dealt
	// round robin like Datasets (none or 0: all); unequal limits give
	// trainings of different lengths, as contributors' datasets differ.
	// Epochs bounds each node's training per round.
	Limits []int
	Epochs int
	// Window and Deadline are the swarm's close rule (the quorum is Nodes).
	Window, Deadline time.Duration
	// Timeout bounds the whole run; the processes are killed after it.
	Timeout time.Duration
	// Verbose starts the nodes with --verbose (debug lines: fusion times).
	Verbose bool
	// MemLimit, when set, is each node's --memlimit: auto (the node's
	// default: a soft limit that follows its largest live heap), off, or a
	// size such as "600MiB" (the Go runtime collects harder near it).
	MemLimit string
	// Profile writes a CPU profile of every node next to its log
	// (nNN.cpu.prof).
	Profile bool
	// MemProfile writes every node's heap profile at its largest live heap
	// next to its log (nNN.heap.prof) and the split of its peak RSS to
	// the log.
	MemProfile bool
	// Moments, when set, is every node's --moments (AdamW moment
	// precision: fp32, bf16 or int8).
	Moments string
	// CheckAfterTraining starts every node with --check-after-training.
	CheckAfterTraining bool
	// DeltaEncoding, when set, is every node's --delta-encoding (how it
	// writes its deltas, e.g. rows+int8 to skip zstd).
	DeltaEncoding string
	// Progress receives one line per step of the bench (nil: discard).
	Progress io.Writer
}

// DefaultConfig returns a 4-node, 3-round run of the 10M-parameter model.
func DefaultConfig() Config {
	return Config{Nodes: 4, Rounds: 3, Model: MLP10M, Limits: []int{200}, Epochs: 1,
		Window: 0, Deadline: 10 * time.Minute, Timeout: 20 * time.Minute}
}

// Validate reports the first unusable setting.
func (c Config) Validate() error {
	switch {
	case c.Bin == "" || c.Dir == "":
		return errors.New("swarmbench: the coldnode executable and a work directory are required")
	case c.Nodes < 1 || c.Rounds < 1:
		return fmt.Errorf("swarmbench: %d nodes and %d rounds, want at least 1 of each", c.Nodes, c.Rounds)
	case len(c.Datasets) == 0:
		return errors.New("swarmbench: no dataset: give at least one task path")
	case slices.ContainsFunc(c.Limits, func(n int) bool { return n < 0 }) || c.Epochs < 0 || c.Window < 0 || c.Deadline <= 0 || c.Timeout <= 0:
		return errors.New("swarmbench: limit, epochs and window must not be negative; deadline and timeout must be positive")
	}
	return nil
}
