package train

import "github.com/coldnode/coldnode/train/optim"

// PeakBytes estimates the live heap Finetune needs for a model of n
// parameters with moments stored at p: the weights and their gradients
// (4 bytes a value each), AdamW's moments (p.StateBytes) and a quarter of
// a body for activations and the training programs. The quarter is what
// a 10M-parameter MLP at batch 64 measured (0.25-0.4x, docs/benchmarks.md
// "Where training memory goes"); wider models need less, and a model
// whose embedding table gets sparse row gradients (bag, encoder) holds
// far less than a body of gradients, so for those this is an upper
// bound. The best epoch
// kept for early stopping is not counted: it waits in a file when
// Options.SpillDir is set.
func PeakBytes(n int64, p optim.Precision) int64 {
	return 4*n + 4*n + p.StateBytes(n) + n
}

// FittingMoments returns the most precise moment storage (fp32, then bf16,
// then int8) whose PeakBytes for n parameters fits in room bytes, and
// whether one did; when none does it returns int8, the smallest.
func FittingMoments(n, room int64) (optim.Precision, bool) {
	for _, p := range []optim.Precision{optim.FP32, optim.BF16, optim.INT8} {
		if PeakBytes(n, p) <= room {
			return p, true
		}
	}
	return optim.INT8, false
}
