package train

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/coldnode/coldnode/train/model"
)

// fit runs epochs with early stopping and leaves the best weights in s.net.
// The best epoch's weights are kept aside only when another epoch follows
// (one more body, in memory or in a file: Options.SpillDir); a run whose
// last epoch is its best, as every one-epoch run, never copies them.
func (s *session) fit(ctx context.Context, res *Result) error {
	defer s.dropBest()
	bad := 0
	liveIsBest := false
	for epoch := 1; epoch <= s.opt.Epochs; epoch++ {
		if err := s.epoch(ctx, epoch); err != nil {
			return err
		}
		liveIsBest = false
		// One collection an epoch keeps the heap near the live set: the
		// steps' small garbage would otherwise pile up to the collector's
		// goal, twice the live set (weights, gradients and moments).
		runtime.GC()
		dev, err := evaluate(s.net, s.dev)
		if err != nil {
			return err
		}
		s.report(Progress{Epoch: epoch, Epochs: s.opt.Epochs, Examples: s.examples, Dev: &dev})
		res.Epochs = epoch
		if res.BestEpoch == 0 || dev.Accuracy > res.Dev.Accuracy {
			res.Dev, res.BestEpoch, bad, liveIsBest = dev, epoch, 0, true
			if epoch < s.opt.Epochs {
				if err := s.keepBest(); err != nil {
					return err
				}
			}
			continue
		}
		if bad++; s.opt.Patience > 0 && bad >= s.opt.Patience {
			break
		}
	}
	if liveIsBest {
		return nil
	}
	return s.restoreBest()
}

// keepBest keeps the live weights as the best so far: in a file under
// Options.SpillDir if set, else in a copy in memory.
func (s *session) keepBest() error {
	if s.opt.SpillDir != "" {
		if s.spill == nil {
			sp, err := newSpill(s.opt.SpillDir)
			if err != nil {
				return err
			}
			s.spill = sp
		}
		return s.spill.keep(s.net.W)
	}
	if s.best == nil {
		s.best = s.net.W.Clone()
		return nil
	}
	s.best.CopyFrom(s.net.W)
	return nil
}

// restoreBest puts the kept weights back into the net.
func (s *session) restoreBest() error {
	if s.spill != nil {
		return s.spill.restore(s.net.W)
	}
	s.net.W.CopyFrom(s.best)
	return nil
}

// dropBest lets go of the kept weights.
func (s *session) dropBest() {
	if s.spill != nil {
		s.spill.close()
	}
	s.best, s.spill = nil, nil
}

// epoch makes one seeded pass over the training split.
func (s *session) epoch(ctx context.Context, epoch int) error {
	order := s.permutation()
	steps := (len(order) + s.opt.Batch - 1) / s.opt.Batch
	for k := 0; k < steps; k++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("train: stopped in epoch %d: %w", epoch, err)
		}
		idx := order[k*s.opt.Batch : min((k+1)*s.opt.Batch, len(order))]
		t0 := time.Now()
		loss, err := s.update(idx)
		s.busy += time.Since(t0)
		if err != nil {
			return fmt.Errorf("train: epoch %d step %d: %w", epoch, k+1, err)
		}
		s.report(Progress{Epoch: epoch, Epochs: s.opt.Epochs, Step: k + 1, Steps: steps, Loss: loss, Examples: s.examples})
	}
	return nil
}

// update runs one step: gradients, then AdamW on every trained tensor.
func (s *session) update(idx []int) (float32, error) {
	loss, err := s.net.Step(s.train, idx)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		return 0, fmt.Errorf("loss is %v; lower the learning rate", loss)
	}
	lr := s.sched.At(s.step)
	s.step++
	s.examples += len(idx)
	s.adam.Begin()
	for _, p := range s.net.Dense() {
		s.adam.Dense(p.Name, p.W, p.G, lr)
	}
	if w, rows, g, ok := s.net.Sparse(); ok {
		s.adam.Sparse("body.embed.weight", w, s.net.W.Config.Dim, rows, g, lr)
	}
	return loss, nil
}

// permutation is a Fisher-Yates shuffle driven by PCG output alone, so it
// does not depend on the Go release's choice of bounded-integer algorithm.
func (s *session) permutation() []int {
	p := make([]int, s.train.Len())
	for i := range p {
		p[i] = i
	}
	for i := len(p) - 1; i > 0; i-- {
		j := int(s.shuffle.Uint64() % uint64(i+1))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

func (s *session) report(p Progress) {
	if s.progress != nil {
		s.progress(p)
	}
}

// evaluate scores net's predictions on in.
func evaluate(net *model.Net, in *model.Inputs) (Metrics, error) {
	pred, err := net.Predict(in)
	if err != nil {
		return Metrics{}, fmt.Errorf("train: evaluate: %w", err)
	}
	return Score(pred, in.Labels, net.W.Config.Classes), nil
}
