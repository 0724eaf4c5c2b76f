package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/coldnode/coldnode/p2p"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/ipfs/go-cid"
)

// ErrDamaged is wrapped by VerifyRepo when it finds corruption.
var ErrDamaged = errors.New("node: repository is damaged")

// VerifyReport is what VerifyRepo checked and found.
type VerifyReport struct {
	Blocks   int      `json:"blocks"`   // stored blocks re-hashed
	Bytes    int64    `json:"bytes"`    // their bytes
	Journal  int      `json:"journal"`  // CIDs in the block journal
	Gone     int      `json:"gone"`     // journalled blocks not stored (removed by gc: harmless)
	Torn     int      `json:"torn"`     // journals ending in a torn line (a crash mid-append: harmless, cut at the next start)
	Verdicts int      `json:"verdicts"` // lines of the verdicts journal
	Rounds   int      `json:"rounds"`   // indexed rounds checked
	Own      int      `json:"own"`      // own contributions checked
	Problems []string `json:"problems"` // corruption found; empty when the repository is sound
}

// VerifyRepo checks the stopped repository at path: every stored block
// hashes to its CID; the journals, state, round index and own-contribution
// log parse; the genesis, every indexed round's record and contributions,
// and every own delta and task head are stored whole. Problems are listed in
// the report, and the error wraps ErrDamaged when there are any.
func VerifyRepo(ctx context.Context, path string) (VerifyReport, error) {
	rep := VerifyReport{Problems: []string{}}
	if Locked(path) {
		return rep, hint(fmt.Errorf("%w: a node runs on %s", ErrLocked, path), "stop the node to verify its repository")
	}
	o, err := OpenOffline(path)
	if err != nil {
		return rep, err
	}
	defer o.Close()
	bs, err := o.openBlocks()
	if err != nil {
		return rep, err
	}
	v := verifier{repo: o.repo, bs: bs, rep: &rep, swarm: o.cfg.Swarm}
	if err := v.run(ctx, o.cfg.Swarm); err != nil {
		return rep, err
	}
	if len(rep.Problems) > 0 {
		return rep, fmt.Errorf("%w: %s: %d problems, first: %s", ErrDamaged, path, len(rep.Problems), rep.Problems[0])
	}
	return rep, nil
}

type verifier struct {
	repo  *Repo
	bs    *p2p.Blocks
	rep   *VerifyReport
	swarm string // the genesis CID: round 1's parent
}

func (v verifier) problem(format string, args ...any) {
	v.rep.Problems = append(v.rep.Problems, fmt.Sprintf(format, args...))
}

func (v verifier) run(ctx context.Context, swarm string) error {
	// The store keys blocks by multihash: c is a raw CID of that multihash.
	st, err := v.bs.Verify(ctx, func(c cid.Cid, err error) { v.problem("block %s: %v", c, err) })
	v.rep.Blocks, v.rep.Bytes = st.Blocks, st.Bytes
	if err != nil {
		return err
	}
	if c, err := parseCID(swarm); err != nil {
		v.problem("config.json: swarm ID: %v", err)
	} else {
		v.present(ctx, c, "genesis")
	}
	v.journal(ctx)
	v.verdicts()
	v.index(ctx)
	v.own(ctx)
	return ctx.Err()
}

// present records a problem unless block c is stored.
func (v verifier) present(ctx context.Context, c cid.Cid, what string) bool {
	ok, err := v.bs.Has(ctx, c)
	if err != nil || !ok {
		v.problem("%s %s is not stored (%v)", what, c, err)
		return false
	}
	return true
}

// whole records a problem unless the file c can be read in full locally.
func (v verifier) whole(ctx context.Context, c cid.Cid, what string) {
	if !v.present(ctx, c, what) {
		return
	}
	if err := v.bs.Export(ctx, c, io.Discard); err != nil {
		v.problem("%s %s cannot be read in full: %v", what, c, err)
	}
}

// lines splits an append-only journal into its complete lines, counting a
// torn last line.
func (v verifier) lines(name string) []string {
	b, err := os.ReadFile(v.repo.File(name))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			v.problem("%s: %v", name, err)
		}
		return nil
	}
	whole := b[:bytes.LastIndexByte(b, '\n')+1]
	if len(whole) < len(b) {
		v.rep.Torn++
	}
	if len(whole) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(whole), "\n"), "\n")
}

func (v verifier) journal(ctx context.Context) {
	for i, l := range v.lines(journalFile) {
		c, err := cid.Decode(l)
		if err != nil {
			v.problem("%s line %d: %v", journalFile, i+1, err)
			continue
		}
		v.rep.Journal++
		if ok, _ := v.bs.Has(ctx, c); !ok {
			v.rep.Gone++
		}
	}
}

func (v verifier) verdicts() {
	for i, l := range v.lines(verdictsFile) {
		f := strings.Fields(l)
		ok := len(f) == 2 && f[0] == "check" || len(f) == 3 && f[0] == "fuse"
		if ok {
			_, err := cid.Decode(f[len(f)-1])
			ok = err == nil
		}
		if !ok {
			v.problem("%s line %d: malformed %q", verdictsFile, i+1, l)
			continue
		}
		v.rep.Verdicts++
	}
}

// index checks state.json and every indexed round: its record and
// contribution blocks are pinned for good, so they must be stored.
func (v verifier) index(ctx context.Context) {
	x := v.repo.Index()
	st, err := x.State()
	if err != nil {
		v.problem("state: %v", err)
		return
	}
	rounds, err := x.Rounds()
	if err != nil {
		v.problem("round index: %v", err)
		return
	}
	if int64(len(rounds)) != st.Height {
		v.problem("round index has %d rounds, state.json says the head is round %d", len(rounds), st.Height)
	}
	parent := v.swarm
	for i, ri := range rounds {
		v.rep.Rounds++
		if ri.Round != int64(i+1) {
			v.problem("round index: file %d holds round %d", i+1, ri.Round)
		}
		if ri.Parent != parent {
			v.problem("round index: round %d (record %s) has parent %s, but round %d is %s: the index mixes two forks",
				ri.Round, ri.Record, ri.Parent, ri.Round-1, parent)
		}
		parent = ri.Record
		v.round(ctx, ri)
	}
	if st.Height > 0 && len(rounds) > 0 && rounds[len(rounds)-1].Record != st.Head {
		v.problem("state.json names head %s, the round index %s", st.Head, rounds[len(rounds)-1].Record)
	}
}

func (v verifier) round(ctx context.Context, ri RoundInfo) {
	what := fmt.Sprintf("round %d", ri.Round)
	if c, err := cid.Decode(ri.Record); err != nil {
		v.problem("%s: record: %v", what, err)
	} else {
		v.present(ctx, c, what+" record")
	}
	for _, ct := range ri.Contributions {
		if c, err := cid.Decode(ct.CID); err != nil {
			v.problem("%s: contribution: %v", what, err)
		} else {
			v.present(ctx, c, what+" contribution")
		}
	}
}

// own checks the node's contribution log: each entry parses, names a
// stored delta, and its task head (when there is one) decodes.
func (v verifier) own(ctx context.Context) {
	ents, err := os.ReadDir(v.repo.File(ownDir))
	if err != nil {
		v.problem("own contributions: %v", err)
		return
	}
	for _, e := range ents {
		base, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		v.rep.Own++
		own, err := v.repo.LoadOwn(base)
		if err != nil {
			v.problem("own contribution on %s: %v", base, err)
			continue
		}
		if c, err := cid.Decode(own.Delta); err != nil {
			v.problem("own contribution on %s: delta: %v", base, err)
		} else {
			v.whole(ctx, c, fmt.Sprintf("own delta of round %d", own.Round))
		}
		if _, err := os.Stat(v.repo.ownPath(base, ".head.safetensors")); err == nil {
			if _, err := checkpoint.Load(v.repo.ownPath(base, ".head.safetensors")); err != nil {
				v.problem("own task head on %s: %v", base, err)
			}
		}
	}
}
