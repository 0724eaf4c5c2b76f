package node

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ipfs/boxo/datastore/dshelp"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	pebbleds "github.com/ipfs/go-ds-pebble"
)

// TestVerifyRepo runs a one-node swarm for two rounds and checks that
// VerifyRepo passes the repository, reports a torn journal tail as harmless
// (and cutTornTail cuts it), and finds a malformed journal line, a round
// index mixing two forks, and a block whose bytes no longer match its CID.
func TestVerifyRepo(t *testing.T) {
	dir := t.TempDir()
	initSolo(t, dir)
	runNodeWith(t, dir, 2, nil)
	ctx := context.Background()
	rep, err := VerifyRepo(ctx, dir)
	if err != nil {
		t.Fatalf("sound repository: %v (%+v)", err, rep)
	}
	if rep.Rounds != 2 || rep.Own < 2 || rep.Blocks == 0 || rep.Journal == 0 || rep.Torn != 0 {
		t.Fatalf("report of a sound repository: %+v", rep)
	}

	journal := dir + "/" + journalFile
	appendFile(t, journal, "bafyreitorn")
	if rep, err := VerifyRepo(ctx, dir); err != nil || rep.Torn != 1 {
		t.Fatalf("torn journal tail: %v, torn %d; want no error and 1", err, rep.Torn)
	}
	if cut, err := cutTornTail(journal); err != nil || cut != int64(len("bafyreitorn")) {
		t.Fatalf("cutTornTail: cut %d, %v", cut, err)
	}

	appendFile(t, journal, "not a cid\n")
	wantDamaged(t, dir, journalFile+" line")
	b, _ := os.ReadFile(journal)
	os.WriteFile(journal, []byte(strings.TrimSuffix(string(b), "not a cid\n")), 0o600)

	x := (&Repo{Path: dir}).Index()
	r2, err := x.Round(2)
	if err != nil {
		t.Fatal(err)
	}
	good := r2
	r2.Parent = r2.Record // not round 1's record: a round of another fork
	x.SaveRound(r2)
	wantDamaged(t, dir, "mixes two forks")
	x.SaveRound(good)

	rec, _ := cid.Decode(readRounds(t, dir)[0].Record)
	corruptBlock(t, dir, rec)
	// The store keys blocks by multihash, so Verify names them as raw CIDs.
	wantDamaged(t, dir, "block "+cid.NewCidV1(cid.Raw, rec.Hash()).String())
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// wantDamaged requires VerifyRepo to fail with ErrDamaged and a problem
// containing want.
func wantDamaged(t *testing.T, dir, want string) {
	t.Helper()
	rep, err := VerifyRepo(context.Background(), dir)
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("want ErrDamaged (%q), got %v", want, err)
	}
	for _, p := range rep.Problems {
		if strings.Contains(p, want) {
			return
		}
	}
	t.Fatalf("no problem mentions %q: %q", want, rep.Problems)
}

// corruptBlock overwrites block c's bytes in the repository's datastore,
// under the key the blockstore uses, as a bad disk would.
func corruptBlock(t *testing.T, dir string, c cid.Cid) {
	t.Helper()
	store, err := pebbleds.NewDatastore(dir + "/blocks")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	key := ds.NewKey("/blocks").Child(dshelp.MultihashToDsKey(c.Hash()))
	if ok, err := store.Has(context.Background(), key); err != nil || !ok {
		t.Fatalf("block %s not under %s: %v", c, key, err)
	}
	if err := store.Put(context.Background(), key, []byte("flipped bits")); err != nil {
		t.Fatal(err)
	}
}

func TestParseFault(t *testing.T) {
	for _, v := range []string{"train", "fetch:3", "persist:2:150ms", "fuse:1:0s"} {
		if _, err := parseFault(v); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	for _, v := range []string{"", "nap", "train:0", "train:x", "train:1:soon", "train:1:-1s", "train:1:1s:1"} {
		if _, err := parseFault(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
	p, _ := parseFault("persist:2:150ms")
	if p.phase != "persist" || p.nth != 2 || p.delay.Milliseconds() != 150 {
		t.Errorf("persist:2:150ms parsed as %+v", p)
	}
}
