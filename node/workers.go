package node

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/coldnode/coldnode/consensus"
	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/p2p"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
)

type signerKey = crypto.PrivKey

// newMachine builds the state machine for this node's key.
func newMachine(genesis []byte, key signerKey, cfg Config) (*consensus.Machine, error) {
	signer, err := wire.NewKeySigner(key)
	if err != nil {
		return nil, err
	}
	mc := consensus.DefaultConfig(genesis, signer)
	h := fnv.New64a()
	h.Write([]byte(signer.ID()))
	mc.Seed = h.Sum64()
	mc.AnnounceEvery = cfg.AnnounceEvery
	mc.RetryEvery = cfg.RetryEvery
	mc.BuildSpread = cfg.BuildSpread
	m, err := consensus.New(mc, time.Now())
	if err != nil {
		return nil, fmt.Errorf("state machine: %w", err)
	}
	return m, nil
}

// startWorkers starts the trainer, the publisher and the API server.
func (rt *runtime) startWorkers(ctx context.Context) {
	n := rt.n
	tr := &trainer{repo: n.repo, store: rt.store, task: n.task, opt: n.trainOptions(),
		maxDelta: rt.genesis.Params.MaxDelta, log: n.log, metrics: n.metrics, progress: n.progress,
		autoMoments: n.cfg.AutoMoments, budget: n.cfg.MemoryBudget, held: rt.held}
	tr.enc, _ = n.cfg.deltaEncoding() // checked by Validate
	rt.wg.Add(2)
	go func() {
		defer rt.wg.Done()
		tr.run(ctx, rt.jobs, rt.trained)
	}()
	go rt.publisher()
	if rt.sums != nil {
		rt.wg.Go(func() { rt.sums.run(ctx) })
	}
	if rt.api != nil {
		rt.wg.Add(1)
		go func() {
			defer rt.wg.Done()
			if err := rt.api.Serve(ctx); err != nil {
				n.log.Warn("API stopped", "err", err)
			}
		}()
	}
}

// publisher publishes announcements in order until the queue is closed;
// after that it has a short grace to flush what is queued.
func (rt *runtime) publisher() {
	defer rt.wg.Done()
	for p := range rt.publish {
		if rt.pubCtx.Err() != nil || len(rt.net.topic.Peers()) == 0 {
			continue // nobody to tell; the machine re-announces periodically
		}
		ctx, cancel := context.WithTimeout(rt.pubCtx, 5*time.Second)
		err := rt.net.topic.Publish(ctx, p)
		cancel()
		if err != nil {
			rt.n.log.Debug("publish", "err", err)
		}
	}
}

// spawn runs f on a worker goroutine and hands its result to the loop.
func (rt *runtime) spawn(ctx context.Context, key string, f func(context.Context) consensus.Message) {
	if rt.inflight[key] {
		return
	}
	rt.inflight[key] = true
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		msg := f(ctx)
		select {
		case rt.results <- workDone{key: key, msg: msg}:
		case <-ctx.Done():
		}
	}()
}

// failDisk tells the loop that the repository's file system failed under a
// worker (full, read-only, failing): not a verdict on the worker's input,
// and the loop stops the node with err. The first failure is enough.
func (rt *runtime) failDisk(err error) consensus.Message {
	select {
	case rt.diskErr <- err:
	default:
	}
	return nil
}

// startFetch fetches a consensus block; a failure is dropped (the machine
// asks again after RetryEvery).
func (rt *runtime) startFetch(ctx context.Context, c cid.Cid) {
	rt.spawn(ctx, "fetch "+c.String(), func(ctx context.Context) consensus.Message {
		ctx, cancel := context.WithTimeout(ctx, 2*rt.n.cfg.RetryEvery)
		defer cancel()
		start := time.Now()
		blk, err := rt.net.blocks.GetBlock(ctx, c)
		if err != nil {
			return nil
		}
		rt.n.metrics.FetchSeconds.Observe(time.Since(start).Seconds())
		return consensus.Block{CID: c, Data: blk.RawData()}
	})
}

// startCheck fetches a delta and checks it as the machine asks, unless this
// node already passed that contribution's check (see verdicts).
func (rt *runtime) startCheck(ctx context.Context, ck consensus.Check) {
	key := "check " + ck.Contribution.String()
	if m := rt.verdict.check(ck.Contribution); m != nil {
		rt.spawn(ctx, key, func(context.Context) consensus.Message { return m })
		return
	}
	rt.spawn(ctx, key, func(ctx context.Context) consensus.Message {
		defer rt.timed("checked", "contribution", ck.Contribution)()
		a, release, err := rt.fetchForCheck(ctx, ck)
		if err != nil {
			return rt.fetchFailed(ck, err)
		}
		defer release()
		defer a.giveBack(ctx)
		return rt.judge(ctx, ck, a)
	})
}

// fetchForCheck makes ck's delta local, waits while the node trains the
// same round (awaitOwnTraining), then for a check slot, and reads it:
// a zstd frame over streamChecksOver inflated as a stream
// (inflateArrived), anything else whole; the caller releases the slot. Only the fetch runs outside a
// slot, so the deltas held in memory at once are bounded by the slots. It
// fails with errStopping when ctx ends during a wait.
func (rt *runtime) fetchForCheck(ctx context.Context, ck consensus.Check) (arrived, func(), error) {
	st := rt.store.withStall(2 * rt.n.cfg.RetryEvery)
	n, a, err := rt.fetchArrived(withHolder(ctx, ck.Peer), st, ck)
	if err != nil {
		return arrived{}, nil, err
	}
	if !rt.awaitOwnTraining(ctx, ck.Round) || !rt.checks.acquire(ctx) {
		a.giveBack(ctx)
		return arrived{}, nil, errStopping
	}
	if a.b != nil {
		return a, rt.checks.release, nil
	}
	if n > streamChecksOver {
		if a, ok := rt.inflateArrived(ctx, st, ck.Delta); ok {
			return a, rt.checks.release, nil
		}
	}
	raw := lendRaw()
	b, err := st.readLocalInto(ctx, ck.Delta, n, ck.MaxBytes, raw)
	if err != nil {
		rawBufs.Put(raw)
		rt.checks.release()
		return arrived{}, nil, err
	}
	return arrived{b: b, raw: raw}, rt.checks.release, nil
}

// fetchArrived makes ck's delta local and returns its size. When a gather
// slot is free (gatherSlots), the fetch gathers the delta in memory lent
// by rawBufs, and a holds it (a.b), with the slot, until giveBack; else,
// or when the delta was stored already or came otherwise, a is empty and
// the delta is read from the store.
func (rt *runtime) fetchArrived(ctx context.Context, st store, ck consensus.Check) (int64, arrived, error) {
	size, err := rt.genesisSize(ctx)
	release, ok := rt.gather.take(size)
	if err != nil || !ok {
		n, err := st.MakeLocal(ctx, ck.Delta, ck.MaxBytes)
		return n, arrived{}, err
	}
	raw := lendRaw()
	n, data, err := st.MakeLocalInto(ctx, ck.Delta, ck.MaxBytes, gather{buf: raw, max: size})
	if err != nil || data == nil {
		rawBufs.Put(raw)
		release()
		return n, arrived{}, err
	}
	return n, arrived{b: data, raw: raw, release: release}, nil
}

// streamChecksOver is the size over which a check looks for a zstd frame
// to inflate as a stream (inflateArrived). A frame Encode writes of a
// delta this small (the bench's 10M body: 7.8 MB) has an 8 MiB window or
// is a single segment, which the stream does not take, so a smaller file
// is read whole without opening it first: the check at that size is what
// it was. Tests lower it.
var streamChecksOver int64 = 16 << 20

// fetchFailed is the message for a delta that could not be fetched or
// read: none when stopping, a disk failure, or a verdict that it is
// unavailable (or too large).
func (rt *runtime) fetchFailed(ck consensus.Check, err error) consensus.Message {
	switch {
	case errors.Is(err, errStopping):
		return nil // the machine asks again after a restart
	case localFailure(err):
		rt.n.log.Error("could not store a fetched delta", "contribution", ck.Contribution, "err", DiskHint(err))
		return rt.failDisk(err) // not a verdict on the delta
	}
	unavailable := !errors.Is(err, p2p.ErrTooLarge)
	return consensus.Checked{Contribution: ck.Contribution, Unavailable: unavailable, Err: err}
}

// judge checks the delta a: in one pass into the running sum when it
// surely passes, else as checkSent and checkMatch say.
func (rt *runtime) judge(ctx context.Context, ck consensus.Check, a arrived) consensus.Message {
	if a.buf != nil {
		return rt.judgeInflated(ctx, ck, a)
	}
	if rt.addArrived(ctx, ck, a.b) {
		return consensus.Checked{Contribution: ck.Contribution}
	}
	b, err := rt.checkSent(ctx, a.b, ck.NormBound)
	if err != nil {
		return consensus.Checked{Contribution: ck.Contribution, Err: err}
	}
	return rt.matched(ck, rt.checkMatch(ctx, ck, b))
}

// judgeInflated is judge of a delta inflated as a stream: the same checks
// of the file inside its frame, which is what checkSent inflates the
// whole file to (checkEncodedDelta) and checks with checkInner before
// checkMatch reads it. Nothing is inflated twice: a frame inside the
// frame is judged by checkInner, as before.
func (rt *runtime) judgeInflated(ctx context.Context, ck consensus.Check, a arrived) consensus.Message {
	if rt.addInner(ctx, ck, a.inner) {
		return consensus.Checked{Contribution: ck.Contribution}
	}
	ref, err := rt.genesisLayout(ctx)
	if err != nil {
		return consensus.Checked{Contribution: ck.Contribution, Err: fmt.Errorf("genesis weights: %w", err)}
	}
	if err := checkInner(ref, a.inner, ck.NormBound); err != nil {
		return consensus.Checked{Contribution: ck.Contribution, Err: err}
	}
	return rt.matched(ck, rt.checkMatch(ctx, ck, a.inner))
}

// matched is the message for checkMatch's answer err: a verdict, or a
// disk failure that is none.
func (rt *runtime) matched(ck consensus.Check, err error) consensus.Message {
	if localFailure(err) {
		rt.n.log.Error("could not read the genesis weights", "err", DiskHint(err))
		return rt.failDisk(err) // not a verdict on the delta
	}
	return consensus.Checked{Contribution: ck.Contribution, Err: err}
}

// checkMatch requires a delta's body tensors to match the genesis weights by
// name, shape and dtype, and its values to be ones the swarm's rule can
// combine (fusion.CheckRule). Every base of the swarm has the genesis
// layout, so a delta that passes can never make a round's fusion fail; one
// that does not is rejected here instead of stalling the round. Under a
// mean rule the check is done by adding the delta to the round's running
// sum (the same verdict), so the round's fusion need not read it again.
func (rt *runtime) checkMatch(ctx context.Context, ck consensus.Check, b []byte) error {
	ref, err := rt.genesisLayout(ctx)
	if err != nil {
		return fmt.Errorf("genesis weights: %w", err)
	}
	r, err := fusion.OpenDelta(b, ref) // plain or encoded (train/deltaenc)
	if err != nil {
		return err
	}
	in := fusion.Input{ID: ck.Delta.String(), Examples: 1, Delta: r}
	if handled, err := rt.sums.add(ctx, ck.Base, ck.Round, in); handled {
		return err
	}
	return fusion.CheckRule(ref, in, rt.rule)
}

// matchBase checks delta bytes b against ref as checkMatch does under the
// default rule, without a running sum.
func matchBase(ref *checkpoint.Reader, delta cid.Cid, b []byte) error {
	r, err := fusion.OpenDelta(b, ref)
	if err != nil {
		return err
	}
	return fusion.CheckRule(ref, fusion.Input{ID: delta.String(), Examples: 1, Delta: r}, fusion.DefaultRule)
}

// startFuse runs a fusion job, unless this node already computed it.
func (rt *runtime) startFuse(ctx context.Context, job consensus.FuseJob) {
	key := "fuse " + job.Key
	if m := rt.verdict.fuse(job.Key); m != nil {
		rt.spawn(ctx, key, func(context.Context) consensus.Message { return m })
		return
	}
	rt.spawn(ctx, key, func(ctx context.Context) consensus.Message {
		fj := fuseJob{Round: job.Round, Base: job.Base, Rule: job.Rule}
		for _, in := range job.Inputs {
			fj.Deltas = append(fj.Deltas, fuseInput{Delta: in.Delta, Examples: int64(in.Examples)})
		}
		start := time.Now()
		done, err := runFusion(ctx, rt.store, fj, rt.genesis.Params.MaxDelta, rt.sums, rt.held)
		if localFailure(err) {
			// Not a verdict on the record.
			rt.n.log.Error("fusion could not store its result", "round", job.Round, "err", DiskHint(err))
			return rt.failDisk(err)
		}
		if err != nil {
			rt.n.log.Warn("fusion failed", "round", job.Round, "err", err)
			return consensus.Fused{Key: job.Key, Err: err}
		}
		rt.n.metrics.Fusions.Inc()
		rt.n.log.Debug("fused", "round", job.Round, "cid", done.Fused, "inputs", len(job.Inputs), "from_sum", done.Sum, "seconds", time.Since(start).Seconds())
		return consensus.Fused{Key: job.Key, Fused: done.Fused}
	})
}
