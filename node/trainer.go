package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/deltaenc"
	"github.com/coldnode/coldnode/train/optim"
	"github.com/ipfs/go-cid"
)

// weightStore is what training needs of the block layer: read a weights
// file by CID (locally or from peers) and import a new one.
type weightStore interface {
	ReadFile(ctx context.Context, c cid.Cid, maxBytes int64) ([]byte, error)
	ImportBytes(ctx context.Context, b []byte) (cid.Cid, error)
}

// trainStore is the store the trainer reads bases from and imports its
// deltas into; OpenFile lets the delta read the base a piece at a time.
type trainStore interface {
	weightStore
	fileStore
}

// trainJob asks for a contribution to round Round on base Base.
type trainJob struct {
	Round uint64
	Base  cid.Cid
}

// trainDone reports a finished (or failed) job back to the loop.
type trainDone struct {
	Job trainJob
	Own OwnContribution
	Err error
}

// OwnContribution is the node's log entry for one of its contributions,
// written (with the task head) before the contribution is announced.
type OwnContribution struct {
	Round    uint64             `json:"round"`
	Base     string             `json:"base"`
	Delta    string             `json:"delta"`
	Task     string             `json:"task"`
	Examples uint64             `json:"examples"`
	Metrics  map[string]float64 `json:"metrics"`
	Seconds  float64            `json:"seconds"`
	Time     time.Time          `json:"time"`
}

// trainer finetunes the base on the local task, one job at a time. It owns
// nothing the loop owns: it reads the block store and writes only its own
// log files in the repository.
type trainer struct {
	repo     *Repo
	store    trainStore
	task     *data.Task
	opt      train.Options
	maxDelta int64
	enc      deltaenc.Encoding // how the delta file is written
	// autoMoments picks each round's moment precision to fit budget
	// (Config.AutoMoments, Config.MemoryBudget).
	autoMoments bool
	budget      int64
	held        *heldBases // bases held in memory, read before the store
	log         *slog.Logger
	metrics     *Metrics
	progress    *Progress
}

// run serves jobs until ctx ends or jobs is closed.
func (t *trainer) run(ctx context.Context, jobs <-chan trainJob, out chan<- trainDone) {
	for {
		select {
		case <-ctx.Done():
			return
		case job, ok := <-jobs:
			if !ok {
				return
			}
			own, err := t.contribute(ctx, job)
			t.releaseMemory()
			select {
			case out <- trainDone{Job: job, Own: own, Err: err}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// releaseMemory collects a finished job's garbage (the weights,
// gradients and moments, the delta and its encoded file: several bodies)
// and gives the freed pages back to the system at once, before the loop
// hears that training ended. What the loop starts then (the checks held
// for the training build the round's running sum, twice the body) would
// otherwise be allocated beside pages the runtime has freed but still
// holds, and the node's resident set would carry both. A node whose
// memory is ample against the body (it holds its bases in memory:
// heldBases) keeps the freed pages for reuse instead (keepFreed).
func (t *trainer) releaseMemory() { train.Collect(t.keepFreed()) }

// keepFreed reports whether collections keep the pages they free
// (train.Options.KeepFreed): when the node holds its bases in memory,
// the rule (heldBases.fits) that leaves memory for several bodies more
// leaves room for the pages a collection frees, and giving them back
// only costs faults to take them again (docs/benchmarks.md, "Deltas
// checked from the memory their fetch wrote").
func (t *trainer) keepFreed() bool { return t.held.holding() }

// contribute returns the logged contribution for job.Base if there is one
// (a restart resumes without retraining), else trains, imports the delta and
// logs it.
func (t *trainer) contribute(ctx context.Context, job trainJob) (OwnContribution, error) {
	if own, err := t.repo.LoadOwn(job.Base.String()); err == nil && own.Round == job.Round {
		t.log.Info("reusing logged contribution", "round", job.Round, "base", job.Base, "delta", own.Delta)
		return own, nil
	}
	res, err := t.finetune(ctx, job)
	if err != nil {
		return OwnContribution{}, err
	}
	delta, err := t.delta(ctx, job, res)
	if err != nil {
		return OwnContribution{}, err
	}
	dc, err := t.importDelta(ctx, delta)
	if err != nil {
		return OwnContribution{}, fmt.Errorf("round %d: %w", job.Round, err)
	}
	own := OwnContribution{
		Round: job.Round, Base: job.Base.String(), Delta: dc.String(), Task: t.task.Name,
		Examples: uint64(t.examples()), Metrics: resultMetrics(res), Seconds: res.Elapsed.Seconds(), Time: time.Now().UTC(),
	}
	if err := t.repo.SaveOwn(own, res.Head); err != nil {
		return OwnContribution{}, err
	}
	return own, nil
}

// examples is the number of distinct training examples a round uses (the
// weight of the "weighted" fusion rule).
func (t *trainer) examples() int {
	n := len(t.task.Train)
	if t.opt.MaxTrain > 0 && n > t.opt.MaxTrain {
		n = t.opt.MaxTrain
	}
	return n
}

// loadBase reads the base file, held in memory or else stored; its tensors
// share the bytes read, which stay valid until done is called.
func (t *trainer) loadBase(ctx context.Context, c cid.Cid) (f *checkpoint.File, done func(), err error) {
	b, done := t.held.get(c)
	if b == nil {
		done = func() {}
		if b, err = t.store.ReadFile(ctx, c, t.baseLimit()); err != nil {
			return nil, nil, fmt.Errorf("load base %s: %w", c, err)
		}
		t.held.prepare(int64(len(b))) // every base has the genesis's size
	}
	if f, err = checkpoint.DecodeShared(b); err != nil {
		done()
		return nil, nil, fmt.Errorf("base %s: %w", c, err)
	}
	return f, done, nil
}

// delta turns the finetuned body into the delta from the base, in place.
// The base is read again here, a piece at a time from the store, rather
// than held through training: training copies it into its weights, and a
// second body in memory during the optimisation, or beside the weights
// now, would raise the node's peak by one body (the base is local by now,
// so the read is a local one).
func (t *trainer) delta(ctx context.Context, job trainJob, res *train.Result) (*checkpoint.File, error) {
	base, _, done, err := openBase(ctx, t.store, t.held, job.Base, t.baseLimit())
	if err != nil {
		return nil, fmt.Errorf("round %d: base: %w", job.Round, err)
	}
	defer done()
	delta, err := train.DeltaInPlaceFrom(base, res.Body)
	res.Body = nil // overwritten by the delta
	if err != nil {
		return nil, fmt.Errorf("round %d: delta: %w", job.Round, err)
	}
	return delta, nil
}

// baseLimit caps the size of a base file.
func (t *trainer) baseLimit() int64 { return 4*t.maxDelta + (64 << 20) }

// finetune trains the local task on the base job.Base; the base file is
// dropped as soon as training has copied it.
//
// What died before the job is collected first: under a mean rule with
// checks held for the training, the running sum of this round begun by
// earlier checks (twice the body) is let go of as the job is sent, and
// would otherwise still be resident while the base is read (one body) and
// copied into the weights (another).
func (t *trainer) finetune(ctx context.Context, job trainJob) (*train.Result, error) {
	t.releaseMemory()
	live := liveHeap() // measured by the collection just run, without the base
	base, done, err := t.loadBase(ctx, job.Base)
	if err != nil {
		return nil, err
	}
	defer done()
	opt := t.opt
	opt.Seed = t.opt.Seed*1_000_003 + job.Round
	opt.Moments = t.moments(job, parameters(base), live, opt.Moments)
	opt.KeepFreed = t.keepFreed()
	t.log.Info("training", "round", job.Round, "base", job.Base, "task", t.task.Name, "examples", t.examples(),
		"epochs", opt.Epochs, "moments", opt.Moments)
	faultPoint("train")
	res, err := train.Finetune(ctx, base, t.task, opt, t.onProgress(job))
	t.progress.Done()
	if err != nil {
		return nil, fmt.Errorf("round %d: finetune on %s: %w", job.Round, t.task.Name, err)
	}
	t.metrics.ObserveTraining(res.Examples, res.Elapsed)
	t.log.Info("trained", "round", job.Round, "task", t.task.Name, "test_acc", fmt.Sprintf("%.4f", res.Test.Accuracy),
		"examples_per_s", fmt.Sprintf("%.0f", float64(res.Examples)/max(res.Elapsed.Seconds(), 1e-9)))
	return res, nil
}

// moments is the moment precision of job's training of n parameters: the
// options' own p, or with autoMoments the most precise whose training
// (train.PeakBytes) fits in the memory budget beside the live heap, live,
// measured before the base was read (the base becomes the weights, which
// PeakBytes counts).
func (t *trainer) moments(job trainJob, n, live int64, p optim.Precision) optim.Precision {
	if !t.autoMoments || t.budget <= 0 {
		return p
	}
	chosen, fits := train.FittingMoments(n, t.budget-live)
	if !fits {
		t.log.Warn("training may not fit in the memory budget, even with int8 moments", "round", job.Round,
			"budget_mib", t.budget>>20, "live_heap_mib", live>>20, "training_mib", train.PeakBytes(n, chosen)>>20)
	}
	return chosen
}

// parameters counts the values of f's tensors.
func parameters(f *checkpoint.File) int64 {
	var n int64
	for _, t := range f.Tensors {
		if size, err := t.DType.Size(); err == nil {
			n += int64(len(t.Data) / size)
		}
	}
	return n
}

func (t *trainer) onProgress(job trainJob) func(train.Progress) {
	return func(p train.Progress) {
		label := fmt.Sprintf("round %d epoch %d/%d", job.Round, p.Epoch, p.Epochs)
		t.progress.Update(label, int64(p.Step), int64(p.Steps), "steps")
	}
}

func (t *trainer) importDelta(ctx context.Context, delta *checkpoint.File) (cid.Cid, error) {
	b, err := deltaenc.Encode(delta, t.enc)
	if err != nil {
		return cid.Undef, fmt.Errorf("encode delta (%s): %w", t.enc, err)
	}
	t.log.Debug("delta encoded", "encoding", t.enc.String(), "bytes", len(b))
	if int64(len(b)) > t.maxDelta {
		return cid.Undef, fmt.Errorf("delta is %d bytes, the swarm's limit is %d", len(b), t.maxDelta)
	}
	faultPoint("import")
	c, err := t.store.ImportBytes(ctx, b)
	if err != nil {
		return cid.Undef, fmt.Errorf("import delta: %w", err)
	}
	return c, nil
}

func resultMetrics(res *train.Result) map[string]float64 {
	return map[string]float64{
		"dev_acc": res.Dev.Accuracy, "test_acc": res.Test.Accuracy, "test_f1": res.Test.MacroF1,
	}
}

// SaveOwn logs one of the node's contributions and its task head.
func (r *Repo) SaveOwn(own OwnContribution, head *checkpoint.File) error {
	if head != nil {
		if err := checkpoint.Save(r.ownPath(own.Base, ".head.safetensors"), head); err != nil {
			return fmt.Errorf("save own head: %w", err)
		}
	}
	if err := writeJSON(r.ownPath(own.Base, ".json"), own); err != nil {
		return fmt.Errorf("log own contribution: %w", err)
	}
	return nil
}

// LoadOwn reads the node's logged contribution on base.
func (r *Repo) LoadOwn(base string) (OwnContribution, error) {
	var own OwnContribution
	err := readJSON(r.ownPath(base, ".json"), &own)
	return own, err
}

// OwnHead reads the task head the node trained on base, if it has one.
func (r *Repo) OwnHead(base string) (*checkpoint.File, error) {
	f, err := checkpoint.Load(r.ownPath(base, ".head.safetensors"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no own head for %s: %w", base, ErrNotFound)
	}
	return f, err
}

// LatestOwn returns the node's most recent logged contribution that has a
// task head (highest round, then newest), or ErrNotFound.
func (r *Repo) LatestOwn() (OwnContribution, error) {
	ents, err := os.ReadDir(r.File(ownDir))
	if err != nil {
		return OwnContribution{}, fmt.Errorf("own contributions: %w", err)
	}
	var best OwnContribution
	found := false
	for _, e := range ents {
		base, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		own, err := r.LoadOwn(base)
		if err != nil {
			return OwnContribution{}, err
		}
		if _, err := os.Stat(r.ownPath(base, ".head.safetensors")); err != nil {
			continue
		}
		if !found || own.Round > best.Round || (own.Round == best.Round && own.Time.After(best.Time)) {
			best, found = own, true
		}
	}
	if !found {
		return OwnContribution{}, fmt.Errorf("no own task head in %s: %w", r.File(ownDir), ErrNotFound)
	}
	return best, nil
}

func (r *Repo) ownPath(base, suffix string) string {
	return r.File(ownDir + "/" + base + suffix)
}
