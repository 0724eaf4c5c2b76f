package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coldnode/coldnode/consensus"
	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/p2p"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// runtime is one Run of a node. The loop goroutine owns every field below
// the line; workers talk to it only through channels.
type runtime struct {
	n       *Node
	net     *network
	store   store
	journal *journal
	verdict *verdicts
	genesis *wire.Genesis
	api     *API
	wg      sync.WaitGroup // every worker goroutine
	pubCtx  context.Context
	pubStop context.CancelFunc

	results  chan workDone
	diskErr  chan error // a worker's disk failure; see failDisk
	jobs     chan trainJob
	trained  chan trainDone
	publish  chan []byte
	checks   slots // delta checks running (bounds their memory)
	gref     genesisRef
	rule     fusion.Rule                 // the genesis's fusion rule
	sums     *sums                       // the running sum of a mean rule; nil for other rules
	held     *heldBases                  // fused bases in memory; nil when the budget does not allow them
	gather   *gatherSlots                // deltas checked from their fetch's memory; nil without a budget
	ownTrain atomic.Pointer[trainWindow] // the node's training job, if one runs

	// owned by the loop goroutine
	sm       *consensus.Machine
	inflight map[string]bool
	training bool
	tried    map[cid.Cid]bool // bases trained on (or given up on)
	// syncUntil holds training back after joining through peers, until
	// their re-announcements had time to bring the head: training on a
	// stale head wastes a round of work.
	syncUntil time.Time
	heard     bool   // a peer's gossip arrived
	gcRound   uint64 // head round at the last garbage collection
	replayed  bool   // the journal brought back blocks at start
}

// workDone is a finished fetch, check or fusion: the message to Step.
type workDone struct {
	key string
	msg consensus.Message // nil: nothing to tell the machine (it retries)
}

// Run joins the swarm and takes part in rounds until ctx ends or the chain
// reaches Config.Rounds rounds. It returns after every goroutine it started
// has stopped and the network is closed.
func (n *Node) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rt, err := n.start(ctx)
	if err != nil {
		return DiskHint(err)
	}
	err = rt.loop(ctx)
	cancel()
	if errors.Is(err, errDiskFailed) {
		return rt.shutdownWithin(diskShutdownWait, DiskHint(err))
	}
	rt.shutdown()
	return DiskHint(err)
}

// errDiskFailed marks a loop error caused by the repository's file system
// (full, read-only, failing): there is no point going on.
var errDiskFailed = errors.New("the repository's disk failed")

// diskShutdownWait bounds the shutdown after a disk failure: a storage
// engine whose flush keeps failing may never close. Everything the node
// named was synced before it was named, so giving up on the close is as
// safe as a crash (see TestCrashRecovery).
const diskShutdownWait = 30 * time.Second

// shutdownWithin runs shutdown and returns err once it finished or after
// wait, whichever comes first (the shutdown goroutine is then abandoned to
// the exiting process, and err says so).
func (rt *runtime) shutdownWithin(wait time.Duration, err error) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		rt.shutdown()
	}()
	select {
	case <-done:
		return err
	case <-time.After(wait):
		return fmt.Errorf("%w (the block store did not close within %v; stopping without it)", err, wait)
	}
}

// start brings up identity, network, genesis, task, state machine and API.
func (n *Node) start(ctx context.Context) (*runtime, error) {
	swarm, err := parseCID(n.cfg.Swarm)
	if err != nil {
		return nil, fmt.Errorf("swarm ID: %w", err)
	}
	key, err := p2p.LoadOrCreateIdentity(n.repo.IdentityPath())
	if err != nil {
		return nil, err
	}
	gb, err := n.genesisBlock(ctx, key, swarm)
	if err != nil {
		return nil, err
	}
	g, err := wire.DecodeGenesis(gb)
	if err != nil {
		return nil, fmt.Errorf("swarm %s: %w", swarm, err)
	}
	net, err := n.startNetwork(ctx, key, g.Params.Allow)
	if err != nil {
		return nil, err
	}
	rt := &runtime{n: n, net: net, inflight: map[string]bool{}, tried: map[cid.Cid]bool{},
		results: make(chan workDone, 64), diskErr: make(chan error, 1), jobs: make(chan trainJob, 1), trained: make(chan trainDone, 1),
		publish: make(chan []byte, 256), checks: checkSlots()}
	rt.pubCtx, rt.pubStop = context.WithCancel(context.Background())
	rt.store = store{blocks: net.blocks, host: net.host, metrics: n.metrics, timeout: n.cfg.FetchTimeout, progress: n.progress, log: n.log}
	if err := rt.init(ctx, swarm, key, gb); err != nil {
		rt.pubStop()
		if rt.api != nil {
			rt.api.ln.Close()
		}
		rt.closeFiles()
		rt.closeNetwork()
		return nil, err
	}
	return rt, nil
}

func (rt *runtime) init(ctx context.Context, swarm cid.Cid, key signerKey, gb []byte) error {
	n := rt.n
	var err error
	if err := rt.net.blocks.Put(ctx, swarm, gb); err != nil {
		return fmt.Errorf("store genesis: %w", err)
	}
	rt.genesis, _ = wire.DecodeGenesis(gb)
	if err := n.loadTask(rt.genesis); err != nil {
		return err
	}
	if rt.rule, err = fusion.ParseRule(rt.genesis.Params.Rule); err != nil {
		return fmt.Errorf("genesis fusion rule: %w", err)
	}
	rt.sums = newSums(rt.rule, rt.genesisLayout)
	rt.held = newHeldBases(n.cfg.MemoryBudget)
	rt.gather = newGatherSlots(n.cfg.MemoryBudget)
	if rt.sm, err = newMachine(gb, key, n.cfg); err != nil {
		return err
	}
	if err := rt.net.joinRounds(swarm, validator(swarm, n.metrics)); err != nil {
		return err
	}
	var replay []cid.Cid
	if rt.journal, replay, err = openJournal(n.repo); err != nil {
		return err
	}
	if rt.verdict, err = openVerdicts(n.repo); err != nil {
		return err
	}
	rt.replay(ctx, replay)
	return rt.startAPI()
}

// validator accepts well-formed announcements of this swarm, counting what
// it rejects; the state machine does the expensive checks.
func validator(swarm cid.Cid, m *Metrics) p2p.Validator {
	return func(_ peer.ID, payload []byte) p2p.Verdict {
		a, err := wire.DecodeAnnouncement(payload)
		if err != nil {
			m.Rejected(RejectMalformed)
			return p2p.Reject
		}
		if !a.Swarm.Equals(swarm) {
			m.Rejected(RejectWrongSwarm)
			return p2p.Reject
		}
		return p2p.Accept
	}
}

// replay feeds the journalled blocks back into the fresh state machine.
// Blocks garbage collection removed are skipped (never waited for on the
// network).
func (rt *runtime) replay(ctx context.Context, cids []cid.Cid) {
	all := len(cids)
	cids = presentBlocks(ctx, rt.net.blocks, cids)
	if gone := all - len(cids); gone > 0 {
		rt.n.log.Info("journalled blocks removed by gc are not replayed", "blocks", gone)
	}
	rt.replayed = len(cids) > 0
	for _, c := range cids {
		blk, err := rt.net.blocks.GetBlock(ctx, c)
		if err != nil {
			rt.n.log.Warn("journalled block missing", "cid", c, "err", err)
			continue
		}
		rt.sm.Step(consensus.Block{CID: c, Data: blk.RawData()})
	}
	if len(cids) > 0 {
		h := rt.sm.Head()
		rt.n.log.Info("resumed", "blocks", len(cids), "round", h.Round, "head", h.Record)
	}
}

func (rt *runtime) startAPI() error {
	n := rt.n
	if n.cfg.API == "" {
		return nil
	}
	token, err := n.repo.Token()
	if err != nil {
		return err
	}
	rt.api, err = ListenAPI(n.cfg.API, n, token, n.metrics.Registry, n.log)
	if err != nil {
		return err
	}
	return n.repo.SetAPIAddr(rt.api.Addr())
}

// loop is the node's one owner of the state machine.
func (rt *runtime) loop(ctx context.Context) error {
	rt.startWorkers(ctx)
	rt.n.setRunning(rt)
	rt.logStart()
	if len(rt.net.host.Peers()) > 0 || rt.replayed {
		// Hold training until peers' re-announcements (or, alone, the
		// replayed chain's checks and fusions) brought the current head.
		rt.syncUntil = time.Now().Add(rt.n.cfg.AnnounceEvery + time.Second)
		rt.heard = len(rt.net.host.Peers()) == 0
	}
	tick := time.NewTicker(rt.n.cfg.TickInterval)
	defer tick.Stop()
	for {
		if err := rt.handleReady(ctx); err != nil {
			return err
		}
		rt.maybeGC(ctx) // before training starts on a new head: GC needs a quiet moment
		rt.maybeTrain()
		if rt.finished() {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			rt.sm.Tick(now)
			rt.n.metrics.Peers.Set(float64(len(rt.net.host.Peers())))
		case m, ok := <-rt.net.topic.Messages():
			if !ok {
				return errors.New("swarm topic closed")
			}
			rt.onGossip(m)
		case err := <-rt.diskErr:
			return fmt.Errorf("%w: %w", errDiskFailed, err)
		case w := <-rt.results:
			delete(rt.inflight, w.key)
			if err := rt.verdict.record(w.msg); err != nil {
				return err
			}
			rt.step(w.msg)
		case d := <-rt.trained:
			rt.onTrained(ctx, d)
		}
	}
}

// logStart says who the node is and where to reach it.
func (rt *runtime) logStart() {
	n := rt.n
	api := ""
	if rt.api != nil {
		api = rt.api.Addr()
	}
	h := rt.sm.Head()
	n.log.Info("node running", "peer", rt.net.host.ID(), "swarm", n.cfg.Swarm, "task", n.task.Name,
		"round", h.Round, "api", api, "peers", len(rt.net.host.Peers()))
	for _, a := range n.Addrs() {
		n.log.Info("listening", "addr", a)
	}
}

func (rt *runtime) onGossip(m p2p.Message) {
	if m.Local {
		return
	}
	rt.heard = true
	rt.step(consensus.Gossip{From: m.From, Payload: m.Payload})
}

func (rt *runtime) step(msg consensus.Message) {
	if msg == nil {
		return
	}
	if err := rt.sm.Step(msg); err != nil {
		rt.n.log.Debug("step", "msg", fmt.Sprintf("%T", msg), "err", err)
	}
}

// handleReady does what the machine asks, in its order: persist, publish,
// start fetches, checks and fusions, handle events; then Advance.
func (rt *runtime) handleReady(ctx context.Context) error {
	for rt.sm.HasReady() {
		rd := rt.sm.Ready()
		for _, b := range rd.Persist {
			if err := rt.persist(ctx, b); err != nil {
				return err
			}
		}
		for _, m := range rd.Messages {
			rt.enqueue(m)
		}
		for _, c := range rd.Fetch {
			rt.startFetch(ctx, c)
		}
		for _, c := range rd.Check {
			rt.startCheck(ctx, c)
		}
		for _, f := range rd.Fuse {
			rt.startFuse(ctx, f)
		}
		for _, e := range rd.Events {
			if err := rt.onEvent(ctx, e); err != nil {
				return err
			}
		}
		rt.sm.Advance()
	}
	return nil
}

// persist stores a consensus block durably, then journals it.
func (rt *runtime) persist(ctx context.Context, b consensus.Block) error {
	faultPoint("persist")
	if err := rt.net.blocks.Put(ctx, b.CID, b.Data); err != nil {
		return fmt.Errorf("persist block %s: %w", b.CID, err)
	}
	if err := rt.net.blocks.Sync(ctx); err != nil {
		return fmt.Errorf("persist block %s: %w", b.CID, err)
	}
	return rt.journal.append(b.CID)
}

func (rt *runtime) enqueue(payload []byte) {
	select {
	case rt.publish <- payload:
	default:
		rt.n.log.Warn("publish queue full; dropping an announcement (it is re-announced later)")
	}
}

// finished reports whether the chain reached Config.Rounds.
func (rt *runtime) finished() bool {
	return rt.n.cfg.Rounds > 0 && rt.sm.Head().Round >= uint64(rt.n.cfg.Rounds)
}

// shutdown stops the workers, waits for them and closes everything.
func (rt *runtime) shutdown() {
	close(rt.jobs)
	close(rt.publish)
	grace := time.AfterFunc(3*time.Second, rt.pubStop)
	rt.wg.Wait()
	grace.Stop()
	rt.pubStop()
	rt.n.setRunning(nil)
	if rt.api != nil {
		rt.n.repo.SetAPIAddr("")
	}
	rt.closeFiles()
	rt.closeNetwork()
}

func (rt *runtime) closeFiles() {
	if rt.journal != nil {
		rt.journal.close()
	}
	if rt.verdict != nil {
		rt.verdict.close()
	}
}

func (rt *runtime) closeNetwork() {
	if err := rt.net.close(); err != nil {
		rt.n.log.Warn("close network", "err", err)
	}
}
