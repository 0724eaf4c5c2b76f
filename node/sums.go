package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/ipfs/go-cid"
)

// sums keeps the exact running sum (fusion.Sum) of the newest round's
// checked deltas under a mean rule: each delta is added as its check
// passes, so when the round closes a fusion only adds or removes the
// deltas its set differs by and writes base + sum/n, one pass over the
// base, instead of reading every delta again. The result is the same
// bytes as fusion.Fuse of the job's set (the sum is exact integer
// arithmetic, independent of order).
//
// The goroutine in run owns the sum; checks and fusions send requests.
type sums struct {
	rule   fusion.Rule
	layout func(context.Context) (*checkpoint.Reader, error) // the genesis layout
	reqs   chan sumReq
	drops  chan sumDrop // from the loop (never blocks it)
}

// sumReq is one request: add a checked delta, or fuse a job.
type sumReq struct {
	ctx   context.Context
	add   *sumAdd
	fuse  *sumFuse
	reply chan sumReply
}

// sumAdd is a delta whose check is to be done by adding it to the sum of
// its base's round. With within set, the delta is added only if its norm
// is surely at most bound, judged in the adding pass (see addWithin).
type sumAdd struct {
	base   cid.Cid
	round  uint64
	in     fusion.Input
	within bool
	bound  float64
	open   func(ctx context.Context) (fusion.Input, error) // set: in is read by the keeper, unless the sum already holds id
	id     string
}

// sumFuse asks for the fused file of job, written to w. open reads and
// opens one delta.
type sumFuse struct {
	job  fuseJob
	base *checkpoint.Reader
	open func(ctx context.Context, c cid.Cid) (*checkpoint.Reader, error)
	w    io.Writer
}

// sumReply: handled is false when the sum does not cover the request (an
// older round, another fork, a rule without a sum): the caller checks or
// fuses on its own.
type sumReply struct {
	handled bool
	err     error
}

// sumState is run's state.
type sumState struct {
	base  cid.Cid
	round uint64
	sum   *fusion.Sum
	floor uint64 // the head's round: no sum is kept for it or older
}

// newSums returns the keeper for rule, or nil when rule has no exact sum.
func newSums(rule fusion.Rule, layout func(context.Context) (*checkpoint.Reader, error)) *sums {
	if rule.Kind != fusion.Mean {
		return nil
	}
	return &sums{rule: rule, layout: layout, reqs: make(chan sumReq), drops: make(chan sumDrop, 16)}
}

// run serves requests until ctx ends.
func (s *sums) run(ctx context.Context) {
	var st sumState
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-s.reqs:
			s.drainDrops(&st)          // a head change sent before r applies first
			r.reply <- s.serve(&st, r) // buffered
		case d := <-s.drops:
			st.apply(d)
		}
	}
}

func (s *sums) serve(st *sumState, r sumReq) sumReply {
	if r.add != nil {
		return s.serveAdd(r.ctx, st, r.add)
	}
	return s.serveFuse(r.ctx, st, r.fuse)
}

// drop lets go of the sum if it is of round or older, and keeps none for
// such rounds from then on: once the head is round r, fusions of round r
// or before are rare (a rival record) and go through fusion.Fuse.
func (st *sumState) drop(round uint64) {
	st.floor = max(st.floor, round)
	if st.sum != nil && st.round <= st.floor {
		*st = sumState{floor: st.floor} // free its memory
	}
}

func (s *sums) drainDrops(st *sumState) {
	for {
		select {
		case d := <-s.drops:
			st.apply(d)
		default:
			return
		}
	}
}

// sumDrop is a message from the loop: the head reached round, or (only)
// the node starts training round, so a sum of that round, begun by checks
// before the training, is let go of (the fusion adds its deltas back from
// the store) instead of living beside the trainer's memory.
type sumDrop struct {
	round uint64
	only  bool
}

func (st *sumState) apply(d sumDrop) {
	if !d.only {
		st.drop(d.round)
		return
	}
	if st.sum != nil && st.round == d.round {
		*st = sumState{floor: st.floor}
	}
}

// headAt tells the keeper the head reached round, without waiting: when
// the queue is full the next head change drops the sum instead.
func (s *sums) headAt(round uint64) { s.send(sumDrop{round: round}) }

// training tells the keeper the node starts training round (see sumDrop).
func (s *sums) training(round uint64) { s.send(sumDrop{round: round, only: true}) }

func (s *sums) send(d sumDrop) {
	select {
	case s.drops <- d:
	default:
	}
}

// ask sends a request and waits for its reply; handled is false if ctx
// ends first (or the keeper is absent).
func (s *sums) ask(ctx context.Context, r sumReq) sumReply {
	if s == nil {
		return sumReply{}
	}
	r.ctx, r.reply = ctx, make(chan sumReply, 1)
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		return sumReply{}
	}
	select {
	case rep := <-r.reply:
		return rep
	case <-ctx.Done():
		return sumReply{}
	}
}

// add checks in by adding it to its round's sum: the error is the verdict
// fusion.CheckRule would give. handled is false when the sum does not
// cover that round and base.
func (s *sums) add(ctx context.Context, base cid.Cid, round uint64, in fusion.Input) (bool, error) {
	rep := s.ask(ctx, sumReq{add: &sumAdd{base: base, round: round, in: in}})
	return rep.handled, rep.err
}

// addLazy is add for a delta the keeper reads itself with open, only when
// the sum does not hold id yet: the node's own delta may have been added
// by a fusion already, and reading it outside the keeper would inflate a
// second copy beside the one the fusion holds.
func (s *sums) addLazy(ctx context.Context, base cid.Cid, round uint64, id string, open func(ctx context.Context) (fusion.Input, error)) (bool, error) {
	rep := s.ask(ctx, sumReq{add: &sumAdd{base: base, round: round, open: open, id: id}})
	return rep.handled, rep.err
}

// fuse writes the fused file of job to f.w from the sum; errNotCovered
// (before anything is written) when the sum does not cover job's round.
func (s *sums) fuse(ctx context.Context, f sumFuse) error {
	rep := s.ask(ctx, sumReq{fuse: &f})
	if !rep.handled {
		return errNotCovered
	}
	return rep.err
}

// addWithin adds in to its round's sum if its values pass the sum's check
// and its norm is surely at most bound (as normSum would find it; bound
// <= 0: no bound), in one pass over the delta. It reports whether in was
// added; when not, the sum is unchanged and the caller judges in as
// before: checkSent, then add.
func (s *sums) addWithin(ctx context.Context, base cid.Cid, round uint64, in fusion.Input, bound float64) bool {
	rep := s.ask(ctx, sumReq{add: &sumAdd{base: base, round: round, in: in, within: true, bound: bound}})
	return rep.handled && rep.err == nil
}

func (s *sums) serveAdd(ctx context.Context, st *sumState, a *sumAdd) sumReply {
	if err := s.ready(ctx, st, a.base, a.round); err != nil {
		return sumReply{}
	}
	if a.open != nil {
		if st.sum.Count(a.id) > 0 {
			return sumReply{handled: true}
		}
		in, err := a.open(ctx)
		if err != nil {
			return sumReply{}
		}
		a.in = in
	}
	if a.within {
		return sumReply{handled: addWithin(st.sum, a.in, a.bound)}
	}
	return sumReply{handled: true, err: st.sum.Add(a.in)}
}

// addWithin adds in to sum, summing its squares in the same pass, and
// takes it out again unless its norm is surely within bound.
func addWithin(sum *fusion.Sum, in fusion.Input, bound float64) bool {
	var see fusion.Visit
	var norm laneNorm
	if bound > 0 {
		see = norm.add
	}
	if sum.AddVisit(in, see) != nil {
		return false
	}
	if norm.within(bound) {
		return true
	}
	if err := sum.Remove(in); err != nil {
		panic(fmt.Sprintf("node: removing delta %s just added to the running sum: %v", in.ID, err))
	}
	return false
}

// ready makes st hold the sum of base's round, starting a new sum for a
// newer round; it fails for an older round or another base of the same
// round (the sum follows the newest round only: it holds 8 bytes a value).
func (s *sums) ready(ctx context.Context, st *sumState, base cid.Cid, round uint64) error {
	if st.sum != nil && st.base.Equals(base) {
		return nil
	}
	if (st.sum != nil && round <= st.round) || round <= st.floor {
		return errNotCovered
	}
	layout, err := s.layout(ctx)
	if err != nil {
		return err
	}
	sum, err := fusion.NewSum(layout, s.rule)
	if err != nil {
		return err
	}
	*st = sumState{base: base, round: round, sum: sum, floor: st.floor}
	return nil
}

var errNotCovered = errors.New("the running sum follows another round")

func (s *sums) serveFuse(ctx context.Context, st *sumState, f *sumFuse) sumReply {
	if err := s.ready(ctx, st, f.job.Base, f.job.Round); err != nil {
		return sumReply{}
	}
	if err := s.match(ctx, st.sum, f); err != nil {
		return sumReply{handled: true, err: err}
	}
	_, err := st.sum.WriteMean(f.w, f.base)
	return sumReply{handled: true, err: err}
}

// match adds and removes deltas until sum holds exactly job's multiset.
func (s *sums) match(ctx context.Context, sum *fusion.Sum, f *sumFuse) error {
	want := map[string]int{}
	byID := map[string]cid.Cid{}
	for _, d := range f.job.Deltas {
		want[d.Delta.String()]++
		byID[d.Delta.String()] = d.Delta
	}
	for _, id := range sum.IDs() {
		if _, ok := byID[id]; !ok {
			c, err := cid.Decode(id)
			if err != nil {
				return fmt.Errorf("running sum holds %q: %w", id, err)
			}
			byID[id] = c
		}
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := s.adjust(ctx, sum, f, byID[id], want[id]-sum.Count(id)); err != nil {
			return err
		}
	}
	return nil
}

// adjust adds (n > 0) or removes (n < 0) |n| copies of delta c.
func (s *sums) adjust(ctx context.Context, sum *fusion.Sum, f *sumFuse, c cid.Cid, n int) error {
	if n == 0 {
		return nil
	}
	r, err := f.open(ctx, c)
	if err != nil {
		return fmt.Errorf("fusion delta: %w", err)
	}
	in := fusion.Input{ID: c.String(), Delta: r}
	for ; n > 0; n-- {
		if err := sum.Add(in); err != nil {
			return err
		}
	}
	for ; n < 0; n++ {
		if err := sum.Remove(in); err != nil {
			return err
		}
	}
	return nil
}

// bodyBytes is the size of r's body tensors' data.
func bodyBytes(r *checkpoint.Reader) int64 {
	var n int64
	for _, name := range r.Names() {
		if !checkpoint.IsHead(name) {
			size, _ := r.Size(name)
			n += size
		}
	}
	return n
}
