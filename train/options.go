package train

import (
	"fmt"
	"math"

	"github.com/coldnode/coldnode/train/optim"
)

// Options tunes Finetune and Probe.
type Options struct {
	LR          float32 // peak learning rate
	Epochs      int     // upper bound on passes over train
	Batch       int     // examples per step
	WeightDecay float32 // AdamW decoupled weight decay of dense tensors
	Warmup      float64 // fraction of steps with a rising learning rate
	Patience    int     // stop after this many epochs without a better dev score; 0: never stop early
	DevFrac     float64 // held out of train for early stopping when the task has no dev split
	Seed        uint64  // head initialisation and shuffling
	MaxTrain    int     // 0: all; otherwise the first MaxTrain training examples (tests, benchmarks)
	// Moments is how AdamW stores its moment estimates: optim.FP32 (the
	// default, PyTorch's arithmetic), optim.BF16 (one body of optimiser
	// state instead of two) or optim.INT8 (half a body: 8-bit block-wise
	// codes); see optim.BF16, optim.INT8 and docs/benchmarks.md.
	Moments optim.Precision
	// SpillDir, if set, is a directory where the best epoch's weights wait
	// in a temporary file while later epochs run, instead of a copy in
	// memory (one body): early stopping then costs disk writes, not
	// memory. The file is gone when training ends. A machine-local path,
	// not a training setting: it changes no result and is not recorded.
	SpillDir string `json:"-"`
	// KeepFreed, if set, has the collections at the session's phase
	// changes keep the pages they free for the heap to reuse, instead of
	// giving them back to the system at once (debug.FreeOSMemory): for a
	// machine whose memory is ample against the body, where giving pages
	// back only costs faults to take them again (on some VMs a trap to
	// the host each). Machine-local, like SpillDir.
	KeepFreed bool `json:"-"`
}

// DefaultOptions are the settings coldnode trains with unless told otherwise.
func DefaultOptions() Options {
	return Options{LR: 2e-3, Epochs: 10, Batch: 64, WeightDecay: 0.01, Warmup: 0.06, Patience: 2, DevFrac: 0.1, Seed: 1}
}

// Validate checks the options.
func (o Options) Validate() error {
	switch {
	case !(o.LR > 0) || math.IsInf(float64(o.LR), 0):
		return fmt.Errorf("train: learning rate %g must be a positive number", o.LR)
	case o.Epochs <= 0 || o.Epochs > 10000:
		return fmt.Errorf("train: epochs %d out of range 1..10000", o.Epochs)
	case o.Batch <= 0 || o.Batch > 1<<16:
		return fmt.Errorf("train: batch %d out of range 1..65536", o.Batch)
	case !(o.WeightDecay >= 0):
		return fmt.Errorf("train: weight decay %g must be >= 0", o.WeightDecay)
	case !(o.Warmup >= 0 && o.Warmup < 1), !(o.DevFrac > 0 && o.DevFrac < 1):
		return fmt.Errorf("train: warmup %g must be in [0,1) and dev fraction %g in (0,1)", o.Warmup, o.DevFrac)
	case o.Patience < 0 || o.MaxTrain < 0:
		return fmt.Errorf("train: patience %d and max train %d must be >= 0", o.Patience, o.MaxTrain)
	case o.Moments > optim.INT8:
		return fmt.Errorf("train: unknown moment precision %s", o.Moments)
	}
	return nil
}

func (o Options) optim() optim.Config {
	c := optim.DefaultConfig()
	c.WeightDecay, c.Moments = o.WeightDecay, o.Moments
	return c
}
