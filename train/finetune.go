package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/model"
	"github.com/coldnode/coldnode/train/optim"
)

// Progress reports training as it goes: after every step, and with Dev set at
// the end of every epoch.
type Progress struct {
	Epoch, Epochs int
	Step, Steps   int // within the epoch
	Loss          float32
	Examples      int      // trained on so far
	Dev           *Metrics // set once per epoch, after evaluation
}

// Result is the outcome of Finetune or Probe.
type Result struct {
	Config    model.Config
	Body      *checkpoint.File // the finetuned body (the input body for Probe)
	Head      *checkpoint.File // the task head
	Dev, Test Metrics
	Examples  int           // training examples processed
	Epochs    int           // epochs run
	BestEpoch int           // the epoch whose weights were kept
	Elapsed   time.Duration // wall time of training and evaluation
	TrainTime time.Duration // wall time of the optimisation steps alone
}

// Finetune trains body and a fresh seeded head on task, keeping the weights of
// the epoch with the best dev accuracy.
func Finetune(ctx context.Context, body *checkpoint.File, task *data.Task, opt Options, progress func(Progress)) (*Result, error) {
	return run(ctx, body, task, opt, progress, model.Full)
}

// Probe trains only a fresh head on top of the frozen body (a linear probe).
func Probe(ctx context.Context, body *checkpoint.File, task *data.Task, opt Options, progress func(Progress)) (*Result, error) {
	return run(ctx, body, task, opt, progress, model.Probe)
}

// session is one training run's state.
type session struct {
	opt        Options
	net        *model.Net
	best       *model.Weights // the best epoch's weights, kept in memory
	spill      *spill         // or in a file (Options.SpillDir)
	adam       *optim.AdamW
	sched      optim.Linear
	shuffle    *rand.PCG
	train, dev *model.Inputs
	step       int
	examples   int
	busy       time.Duration
	progress   func(Progress)
}

func run(ctx context.Context, body *checkpoint.File, task *data.Task, opt Options, progress func(Progress), mode model.Mode) (*Result, error) {
	start := time.Now()
	s, cfg, err := newSession(body, task, opt, mode)
	if err != nil {
		return nil, err
	}
	// The weights are a copy of body, which is not used from here on; if
	// the caller holds it no longer either (the node drops its base),
	// collecting now lets the optimiser's moments, allocated in the first
	// step, take its place. Its pages (and those of whatever else died
	// before training, such as the last round's running sum) go back to
	// the system now rather than at the scavenger's pace, so that none
	// the heap cannot reuse stays resident beside the training.
	Collect(opt.KeepFreed)
	s.progress = progress
	res := &Result{Config: cfg}
	if err := s.fit(ctx, res); err != nil {
		return nil, err
	}
	s.release()
	test, err := model.NewInputs(cfg, task.Test)
	if err != nil {
		return nil, fmt.Errorf("train: test split: %w", err)
	}
	if res.Test, err = evaluate(s.net, test); err != nil {
		return nil, err
	}
	res.Body, res.Head = s.net.W.SharedBody(), s.net.W.Head()
	res.Examples, res.Elapsed, res.TrainTime = s.examples, time.Since(start), s.busy
	return res, nil
}

// release drops what only the optimisation needed (the training program
// with its gradients, the optimiser's moments, the training inputs) and
// collects it at once, giving its pages back to the system: what the
// caller allocates next (the delta's encoded file), and what the node
// does meanwhile (a running sum of other deltas, two bodies), would
// otherwise sit beside up to three bodies of pages the runtime has freed
// but still holds. The weights stay: the result shares them.
func (s *session) release() {
	s.net.EndTraining()
	s.adam, s.train, s.best = nil, nil, nil
	Collect(s.opt.KeepFreed)
}

// Collect collects garbage now, and gives the freed pages back to the
// system at once unless keep (Options.KeepFreed).
func Collect(keep bool) {
	if keep {
		runtime.GC()
		return
	}
	debug.FreeOSMemory()
}

func newSession(body *checkpoint.File, task *data.Task, opt Options, mode model.Mode) (*session, model.Config, error) {
	if err := opt.Validate(); err != nil {
		return nil, model.Config{}, err
	}
	w, err := startWeights(body, task, opt.Seed)
	if err != nil {
		return nil, model.Config{}, err
	}
	s := &session{opt: opt, shuffle: rand.NewPCG(opt.Seed, 0x5eed)}
	if s.train, s.dev, err = splits(w.Config, task, opt); err != nil {
		return nil, model.Config{}, err
	}
	if s.net, err = model.NewNet(w, opt.Batch, mode); err != nil {
		return nil, model.Config{}, err
	}
	if s.adam, err = optim.New(opt.optim()); err != nil {
		return nil, model.Config{}, err
	}
	steps := opt.Epochs * ((s.train.Len() + opt.Batch - 1) / opt.Batch)
	s.sched = optim.Linear{Peak: opt.LR, Warmup: int(opt.Warmup * float64(steps)), Total: steps}
	return s, w.Config, nil
}

// startWeights binds body to task with a fresh head seeded by seed.
func startWeights(body *checkpoint.File, task *data.Task, seed uint64) (*model.Weights, error) {
	if body == nil || task == nil {
		return nil, fmt.Errorf("train: need a body checkpoint and a task")
	}
	cfg, err := model.FromFile(body)
	if err != nil {
		return nil, fmt.Errorf("train: base body: %w", err)
	}
	cfg.Classes = len(task.Labels)
	if err := cfg.CheckTask(task); err != nil {
		return nil, fmt.Errorf("train: base body does not fit task: %w", err)
	}
	head, err := model.InitHead(cfg, seed)
	if err != nil {
		return nil, err
	}
	w, err := model.NewWeights(cfg, body, head)
	if err != nil {
		return nil, fmt.Errorf("train: base body: %w", err)
	}
	return w, nil
}

// splits encodes train and dev: the task's dev split, or one held out of train.
func splits(cfg model.Config, task *data.Task, opt Options) (train, dev *model.Inputs, err error) {
	tr, dv := task.Train, task.Dev
	if len(dv) == 0 {
		tr, dv = data.HeldOut(tr, opt.DevFrac)
	}
	if opt.MaxTrain > 0 && len(tr) > opt.MaxTrain {
		tr = tr[:opt.MaxTrain]
	}
	if len(tr) == 0 || len(dv) == 0 {
		return nil, nil, fmt.Errorf("train: task %q leaves %d training and %d dev examples; need both", task.Name, len(tr), len(dv))
	}
	if train, err = model.NewInputs(cfg, tr); err != nil {
		return nil, nil, fmt.Errorf("train: train split: %w", err)
	}
	if dev, err = model.NewInputs(cfg, dv); err != nil {
		return nil, nil, fmt.Errorf("train: dev split: %w", err)
	}
	return train, dev, nil
}
