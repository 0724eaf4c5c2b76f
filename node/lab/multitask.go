package lab

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/model"
	"github.com/coldnode/coldnode/train/optim"
)

// chunkBatches is how many consecutive batches of one task a multitask
// schedule takes before it may switch task (each switch copies the body).
const chunkBatches = 4

// headTask is one seen task in multitask training: its own net, whose body
// tensors are kept equal to the shared body while it is active.
type headTask struct {
	name string
	net  *model.Net
	in   *model.Inputs
}

// multitask trains one shared body with a head per seen task, from genesis,
// on budget training examples drawn task-homogeneous batch by batch from the
// pooled tasks (no early stopping). opt gives the learning rate, batch,
// warm-up and weight decay. It returns the encoded body.
func multitask(ctx context.Context, genesis *checkpoint.File, tasks []*Task, budget int, opt train.Options, seed uint64) ([]byte, error) {
	hs, err := headTasks(genesis, tasks, opt.Batch, seed)
	if err != nil {
		return nil, err
	}
	adam, err := optim.New(optim.Config{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: opt.WeightDecay})
	if err != nil {
		return nil, err
	}
	steps := max((budget+opt.Batch-1)/opt.Batch, 1)
	sched := optim.Linear{Peak: opt.LR, Warmup: int(opt.Warmup * float64(steps)), Total: steps}
	plan := newSchedule(hs, opt.Batch, seed)
	active := -1
	for step := 0; step < steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("lab: multitask stopped at step %d: %w", step, err)
		}
		k, idx := plan.next()
		if active >= 0 && k != active {
			copyBody(hs[k].net.W, hs[active].net.W)
		}
		active = k
		if err := mtStep(hs[k], idx, adam, sched.At(step)); err != nil {
			return nil, fmt.Errorf("lab: multitask step %d on %s: %w", step, hs[k].name, err)
		}
	}
	return checkpoint.Encode(hs[max(active, 0)].net.W.Body())
}

func headTasks(genesis *checkpoint.File, tasks []*Task, batch int, seed uint64) ([]*headTask, error) {
	cfg, err := model.FromFile(genesis)
	if err != nil {
		return nil, fmt.Errorf("lab: multitask body: %w", err)
	}
	var hs []*headTask
	for i, t := range tasks {
		c := cfg
		c.Classes = len(t.Labels)
		head, err := model.InitHead(c, derive(seed, uint64(i), 0x4ead))
		if err != nil {
			return nil, fmt.Errorf("lab: multitask head of %s: %w", t.Name, err)
		}
		w, err := model.NewWeights(c, genesis, head)
		if err != nil {
			return nil, fmt.Errorf("lab: multitask %s: %w", t.Name, err)
		}
		net, err := model.NewNet(w, batch, model.Full)
		if err != nil {
			return nil, fmt.Errorf("lab: multitask %s: %w", t.Name, err)
		}
		in, err := model.NewInputs(c, t.Train)
		if err != nil {
			return nil, fmt.Errorf("lab: multitask %s train split: %w", t.Name, err)
		}
		hs = append(hs, &headTask{name: t.Name, net: net, in: in})
	}
	return hs, nil
}

// copyBody overwrites dst's body tensors with src's.
func copyBody(dst, src *model.Weights) {
	for _, s := range dst.Specs() {
		if !checkpoint.IsHead(s.Name) {
			copy(dst.Get(s.Name), src.Get(s.Name))
		}
	}
}

// mtStep is one AdamW step of one task's net; the body's optimiser state is
// shared by name, each head's is its own.
func mtStep(h *headTask, idx []int, adam *optim.AdamW, lr float32) error {
	loss, err := h.net.Step(h.in, idx)
	if err != nil {
		return err
	}
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		return fmt.Errorf("loss is %v; lower the learning rate", loss)
	}
	adam.Begin()
	for _, p := range h.net.Dense() {
		name := p.Name
		if checkpoint.IsHead(name) {
			name = h.name + "/" + name
		}
		adam.Dense(name, p.W, p.G, lr)
	}
	if w, rows, g, ok := h.net.Sparse(); ok {
		adam.Sparse("body.embed.weight", w, h.net.W.Config.Dim, rows, g, lr)
	}
	return nil
}

// schedule deals task-homogeneous chunks of batches: every pass covers every
// task's training examples once, in a seeded order of chunks.
type schedule struct {
	tasks []*headTask
	batch int
	rng   *rand.PCG
	queue []chunk
}

type chunk struct {
	task int
	idx  [][]int
}

func newSchedule(hs []*headTask, batch int, seed uint64) *schedule {
	return &schedule{tasks: hs, batch: batch, rng: rand.NewPCG(seed, 0x3717)}
}

// next returns the task and example indexes of the next batch.
func (s *schedule) next() (int, []int) {
	if len(s.queue) == 0 {
		s.refill()
	}
	c := &s.queue[0]
	idx := c.idx[0]
	task := c.task
	if c.idx = c.idx[1:]; len(c.idx) == 0 {
		s.queue = s.queue[1:]
	}
	return task, idx
}

// refill builds one pass: each task's examples shuffled, cut into batches,
// grouped into chunks; then the chunks of all tasks shuffled together.
func (s *schedule) refill() {
	for k, h := range s.tasks {
		perm := s.perm(h.in.Len())
		var batches [][]int
		for i := 0; i < len(perm); i += s.batch {
			batches = append(batches, perm[i:min(i+s.batch, len(perm))])
		}
		for i := 0; i < len(batches); i += chunkBatches {
			s.queue = append(s.queue, chunk{task: k, idx: batches[i:min(i+chunkBatches, len(batches))]})
		}
	}
	for i := len(s.queue) - 1; i > 0; i-- {
		j := int(s.rng.Uint64() % uint64(i+1))
		s.queue[i], s.queue[j] = s.queue[j], s.queue[i]
	}
}

func (s *schedule) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(s.rng.Uint64() % uint64(i+1))
		p[i], p[j] = p[j], p[i]
	}
	return p
}
