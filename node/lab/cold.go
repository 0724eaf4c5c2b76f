package lab

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/checkpoint"
)

// chain is one ColD Fusion run: the rounds and every round's base.
type chain struct {
	Rounds   []Round
	Bases    [][]byte // Bases[r] is the base after round r (nil if never evaluated); Bases[0] is the genesis body
	Examples int      // training examples processed by all contributors
}

// coldRun is the setting of one ColD Fusion run.
type coldRun struct {
	cfg      Config
	seed     uint64
	seen     []*Task
	swarm    *swarm
	perRound int
	label    string // names the run in progress lines
	log      *logger
}

// run performs cfg.Rounds rounds from the genesis body.
func (r *coldRun) run(ctx context.Context, genesis []byte) (*chain, error) {
	ch := &chain{Bases: [][]byte{genesis}}
	parent := r.swarm.id
	for round := 1; round <= r.cfg.Rounds; round++ {
		start := time.Now()
		picks := sample(r.seed, round, len(r.seen), r.perRound)
		cs, err := r.contribute(ctx, round, ch.Bases[round-1], picks)
		if err == nil {
			err = r.encode(cs)
		}
		if err != nil {
			return nil, err
		}
		fused, rec, rc, err := r.swarm.close(round, parent, ch.Bases[round-1], cs)
		if err != nil {
			return nil, err
		}
		parent = rc
		rec.Seconds = time.Since(start).Seconds()
		ch.Bases = append(ch.Bases, fused)
		if round > 1 && !r.cfg.evaluated(round-1) {
			ch.Bases[round-1] = nil // never scored: free it
		}
		ch.Rounds = append(ch.Rounds, rec)
		for _, c := range cs {
			ch.Examples += c.Trained
		}
		r.log.printf("%s round %d/%d: %s -> %s (%.1fs)", r.label, round, r.cfg.Rounds, taskList(cs), short(rec.Fused), rec.Seconds)
	}
	return ch, nil
}

// contribute finetunes base on each picked task, in parallel.
func (r *coldRun) contribute(ctx context.Context, round int, base []byte, picks []int) ([]contribution, error) {
	bf, err := checkpoint.Decode(base)
	if err != nil {
		return nil, fmt.Errorf("lab: round %d base: %w", round, err)
	}
	out := make([]contribution, len(picks))
	err = parallel(ctx, len(picks), r.cfg.Workers, func(ctx context.Context, i int) error {
		c, err := r.contributeOne(ctx, round, bf, picks[i])
		if err != nil {
			return fmt.Errorf("lab: %s round %d: %w", r.label, round, err)
		}
		out[i] = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, r.cfg.attack().collude(out, func(i int) bool { return r.cfg.attacker(picks[i]) })
}

// contributeOne is the contribution of the contributor holding seen task
// pick: its honest delta, or what it sends instead when it attacks.
func (r *coldRun) contributeOne(ctx context.Context, round int, bf *checkpoint.File, pick int) (contribution, error) {
	opt := r.cfg.Contrib
	opt.Seed = derive(r.seed, uint64(round), uint64(pick))
	t := r.seen[pick]
	if !r.cfg.attacker(pick) {
		return finetuneDelta(ctx, bf, t, opt)
	}
	a := r.cfg.attack()
	var c contribution
	var err error
	if a.Kind == AttackBackdoor {
		c, err = r.backdoorDelta(ctx, bf, t, opt, a)
	} else if c, err = finetuneDelta(ctx, bf, t, opt); err == nil {
		c.Delta, err = a.transform(c.Delta, derive(r.seed, uint64(round), uint64(pick), 0xa77ac))
	}
	if err != nil {
		return contribution{}, err
	}
	c.Attack = a.String()
	c.DeltaCID, err = fileCID(c.Delta)
	return c, err
}

// backdoorDelta finetunes on the poisoned copy of t and bounds the delta's
// norm just under the swarm's clip norm, claiming t's honest example count.
func (r *coldRun) backdoorDelta(ctx context.Context, bf *checkpoint.File, t *Task, opt train.Options, a Attack) (contribution, error) {
	pt, err := poisonTask(t, int(a.Param))
	if err != nil {
		return contribution{}, err
	}
	c, err := finetuneDelta(ctx, bf, pt, opt)
	if err != nil {
		return contribution{}, err
	}
	c.Examples = len(t.Train)
	if c.Delta, err = boundNorm(c.Delta, 0.99*r.swarm.rule.Clip); err != nil {
		return contribution{}, fmt.Errorf("lab: backdoor delta: %w", err)
	}
	return c, nil
}

// finetuneDelta is a node's contribution: finetune base on task (with a
// fresh head), take the body delta, encode it and name it by its CID.
func finetuneDelta(ctx context.Context, base *checkpoint.File, t *Task, opt train.Options) (contribution, error) {
	res, err := train.Finetune(ctx, base, t.Task, opt, nil)
	if err != nil {
		return contribution{}, fmt.Errorf("finetune on %s: %w", t.Name, err)
	}
	delta, err := train.Delta(base, res.Body)
	if err != nil {
		return contribution{}, fmt.Errorf("delta of %s: %w", t.Name, err)
	}
	b, err := checkpoint.Encode(delta)
	if err != nil {
		return contribution{}, fmt.Errorf("encode delta of %s: %w", t.Name, err)
	}
	c, err := fileCID(b)
	if err != nil {
		return contribution{}, err
	}
	return contribution{Task: t.Name, Examples: len(t.Train), Trained: res.Examples, Delta: b, DeltaCID: c, Test: res.Test}, nil
}

// sample picks k of n task indexes for a round, seeded by (seed, round, k),
// and returns them ascending.
func sample(seed uint64, round, n, k int) []int {
	rng := rand.NewPCG(derive(seed, uint64(round), uint64(k)), 0xc01d)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	for i := 0; i < k; i++ {
		j := i + int(rng.Uint64()%uint64(n-i))
		idx[i], idx[j] = idx[j], idx[i]
	}
	out := slices.Clone(idx[:k])
	slices.Sort(out)
	return out
}

// derive mixes a seed with indexes into an independent seed (FNV-1a over
// the little-endian words).
func derive(seed uint64, parts ...uint64) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, v := range append([]uint64{seed}, parts...) {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	return h.Sum64()
}

func taskList(cs []contribution) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Task
	}
	return strings.Join(names, ",")
}

// short abbreviates a CID for progress lines.
func short(c string) string {
	if len(c) <= 16 {
		return c
	}
	return c[:8] + "…" + c[len(c)-6:]
}
