package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/p2p"
	"github.com/ipfs/go-cid"
)

// TestGCKeepsWhatItMust runs a one-node swarm (finality 1) for four rounds
// with garbage collection every round, collects once more offline, and
// checks the store: the genesis, every record and the node's own
// contributions and deltas stay, and so do the fused files from the final
// record's base up; the fused file of round 1, below the horizon, is gone.
// A restart then continues the chain from the collected store.
func TestGCKeepsWhatItMust(t *testing.T) {
	dir := t.TempDir()
	swarm := initSolo(t, dir)
	gcEvery := func(c *Config) { c.GCEvery = 1 }
	events := runNodeWith(t, dir, 4, gcEvery)
	if countKind(events, "gc") == 0 {
		t.Fatal("the running node never collected garbage with GCEvery 1")
	}
	ctx := context.Background()
	rep, err := CollectGarbage(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("offline gc: %s", rep)
	rounds := readRounds(t, dir)
	if len(rounds) != 4 {
		t.Fatalf("%d rounds, want 4", len(rounds))
	}
	blocks, files := []string{swarm}, []string{genesisWeights(t, dir, swarm)}
	for _, ri := range rounds {
		blocks = append(blocks, ri.Record)
		for _, c := range ri.Contributions {
			blocks, files = append(blocks, c.CID), append(files, c.Delta) // all the node's own
		}
	}
	for _, ri := range rounds[1:] { // round 2's fused is round 3's base
		files = append(files, ri.Fused)
	}
	checkStore(t, dir, blocks, files, []string{rounds[0].Fused})
	if again, err := CollectGarbage(ctx, dir); err != nil || again.Removed != 0 || again.Dropped != 0 {
		t.Fatalf("second collection %+v, %v: want nothing more to remove", again, err)
	}

	runNodeWith(t, dir, 6, gcEvery)
	after := readRounds(t, dir)
	if len(after) != 6 {
		t.Fatalf("after the restart: %d rounds, want 6", len(after))
	}
	for i := range rounds {
		if after[i].Record != rounds[i].Record {
			t.Errorf("round %d changed across gc and restart", i+1)
		}
	}
}

func countKind(events []Event, kind string) int {
	n := 0
	for _, e := range events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func genesisWeights(t *testing.T, dir, swarm string) string {
	t.Helper()
	bs, err := p2p.OpenBlocks(dir+"/blocks", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	blk, err := bs.GetBlock(context.Background(), mustCID(swarm))
	if err != nil {
		t.Fatal(err)
	}
	g, err := wire.DecodeGenesis(blk.RawData())
	if err != nil {
		t.Fatal(err)
	}
	return g.Weights.String()
}

// checkStore asserts which blocks and whole files are local and which
// roots are gone.
func checkStore(t *testing.T, dir string, blocks, files, gone []string) {
	t.Helper()
	bs, err := p2p.OpenBlocks(dir+"/blocks", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	ctx := context.Background()
	for _, s := range blocks {
		if ok, err := bs.Has(ctx, mustCID(s)); !ok {
			t.Errorf("block %s should be kept: %v", s, err)
		}
	}
	for _, s := range files {
		if _, err := bs.Fetch(ctx, mustCID(s), 1<<30, nil); err != nil {
			t.Errorf("file %s should be kept whole: %v", s, err)
		}
	}
	for _, s := range gone {
		if ok, _ := bs.Has(ctx, mustCID(s)); ok {
			t.Errorf("%s should have been collected", s)
		}
	}
}

// The pin set of the policy: a CID wanted both directly and recursively is
// pinned recursively, and undefined CIDs are ignored.
func TestPinSetRecursiveWins(t *testing.T) {
	a, b := wire.CIDOf([]byte("a")), wire.CIDOf([]byte("b"))
	s := pinSet{}
	s.recursive(a)
	s.direct(a)
	s.direct(b)
	s.direct(cid.Undef)
	if len(s) != 2 || s[a] || !s[b] {
		t.Fatalf("pin set %v", s)
	}
}

func TestCollectGarbageRefusesRunningRepo(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := CollectGarbage(context.Background(), dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
}

// TestRestartWithoutFinalDeltas removes, as a node that contributed nothing
// would, every delta of the final rounds and the fused files below the
// horizon, with no peer online to serve them: the restart must still
// rebuild the chain (from its verdicts journal) and go on. The restart
// trains with another seed, so retraining cannot regenerate the deltas.
func TestRestartWithoutFinalDeltas(t *testing.T) {
	dir := t.TempDir()
	initSolo(t, dir)
	runNodeWith(t, dir, 4, nil)
	rounds := readRounds(t, dir)
	if err := os.RemoveAll(filepath.Join(dir, ownDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, ownDir), 0o700); err != nil {
		t.Fatal(err)
	}
	collectAsObserver(t, dir)
	var gone []string
	for _, ri := range rounds[:3] { // final rounds: 1..3 (head 4, finality 1)
		for _, c := range ri.Contributions {
			gone = append(gone, c.Delta)
		}
	}
	checkStore(t, dir, nil, nil, append(gone, rounds[0].Fused))

	// Another training seed: retraining cannot reproduce the removed deltas.
	runNodeWith(t, dir, 6, func(c *Config) { c.Seed = 99 })
	after := readRounds(t, dir)
	if len(after) != 6 || after[3].Record != rounds[3].Record {
		t.Fatalf("after the restart: %d rounds (round 4 %v), want 6 continuing the chain", len(after), after[3].Record)
	}
}

// collectAsObserver runs the keep policy as a node with no identity (so no
// contribution counts as its own) and collects.
func collectAsObserver(t *testing.T, dir string) {
	t.Helper()
	o, err := OpenOffline(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	bs, err := o.openBlocks()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(context.Background(), keepPolicy{repo: o.repo, bs: bs}); err != nil {
		t.Fatal(err)
	}
	if err := compactJournal(context.Background(), o.repo, bs); err != nil {
		t.Fatal(err)
	}
}

// initSolo founds in dir a one-node swarm of the tiny mlp task: quorum 1,
// no window, finality 1. It returns the swarm ID.
func initSolo(t *testing.T, dir string) string {
	t.Helper()
	opt := DefaultInitOptions()
	opt.Model, opt.Task = "mlp", tinyTask()
	opt.Params.Quorum, opt.Params.Window, opt.Params.Finality = 1, 0, 1
	swarm, err := Init(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return swarm
}
